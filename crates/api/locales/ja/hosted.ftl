# The hosted payment page (/s/{token}), Japanese.

## Formatting
format-group = ,
format-decimal = .
format-amount = { $symbol }{ $number }
format-date = %Y年%-m月%-d日
format-day-month = { $month }{ $day }日

month-1 = 1月
month-2 = 2月
month-3 = 3月
month-4 = 4月
month-5 = 5月
month-6 = 6月
month-7 = 7月
month-8 = 8月
month-9 = 9月
month-10 = 10月
month-11 = 11月
month-12 = 12月

## Page
language-nav = 言語
pay = 支払う
iban = IBAN
holder = 口座名義人
accept = SEPAダイレクトデビットのマンデートに同意します。
total = 合計
not-found = この支払いリンクは無効です。

## Offer and schedule
frequency-WEEKLY = 毎週
frequency-BIWEEKLY = 2週間ごと
frequency-MONTHLY = 毎月
frequency-QUARTERLY = 3か月ごと
frequency-SEMIANNUALLY = 6か月ごと
frequency-YEARLY = 毎年
schedule = { $start }から{ $frequency }{ $amount }
trial-free = { $unit ->
    [week] 最初の{ $count }週間
    [month] 最初の{ $count }か月
   *[day] 最初の{ $count }日間
}無料
trial-paid = { $unit ->
    [week] 最初の{ $count }週間
    [month] 最初の{ $count }か月
   *[day] 最初の{ $count }日間
}は{ $price }

## Mandate
mandate-title = SEPAダイレクトデビット・マンデート
creditor = 債権者
creditor-id = 債権者識別番号
mandate-reference = マンデート参照番号
mandate-type = 支払いの種類
mandate-one-off = 1回限りの支払い
mandate-recurring = 定期的な支払い
mandate-date = 日付
mandate-text = このマンデートに署名することにより、お客様は (A) { $creditor } がお客様の銀行に口座からの引き落としを指示すること、および (B) お客様の銀行が { $creditor } の指示に従って口座から引き落とすことを承認します。お客様は、銀行との契約条件に基づき、銀行から返金を受ける権利を有します。返金の請求は、口座から引き落とされた日から8週間以内に行う必要があります。
mandate-rights = 引き落とし日から8週間以内であれば、銀行に返金を請求できます。
mandate-prenotification = 各引き落としの{ $days }日前までに通知されます。

## Screens
declined = 銀行が支払いを拒否しました。入力内容を確認して、もう一度お試しください。
attempts-left = 残りの試行回数:
failed = 支払いに失敗しました。この支払いでこれ以上引き落とされることはありません。
verification = 銀行がマンデートの確認を求めています。
verify = 確認しました: 支払いを完了する
processing = 支払いを処理しています。このページを閉じてもかまいません。
completed = ありがとうございます。支払いが完了しました。
next = 金額はお客様の口座から引き落とされます。各引き落としの前に通知されます。
order-number = 注文番号
back = ショップに戻る
expired = この支払いリンクは有効期限が切れています。
cancelled = この支払いはキャンセルされました。
must-accept = マンデートに同意してください。

## IBAN errors
iban-empty = IBANを入力してください。
iban-character = IBANに使用できない文字が含まれています: { $character }
iban-country-code = IBANは2文字の国コードで始まります。
iban-unknown-country = { $country } は既知のIBAN国ではありません。
iban-length = { $country } のIBANは{ $expected }文字ですが、入力は{ $actual }文字です。
iban-format = { $country } のIBANの形式ではありません。
iban-check-digits = IBANのチェックディジットが正しくありません。
holder-empty = 口座名義人の名前を入力してください。
holder-too-long = 口座名義人の名前は { $max } 文字以内で入力してください。
