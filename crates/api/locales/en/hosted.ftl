# The hosted payment page (/s/{token}), English. Every locale has exactly these message ids
# (checked by a test). Formatting rules first, then the page's words.

## Formatting: digit grouping, decimal mark, amount and date patterns (chrono strftime).
format-group = ,
format-decimal = .
format-amount = { $symbol }{ $number }
format-date = %-d %B %Y
format-day-month = { $day } { $month }

month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December

## Page
language-nav = Language
pay = Pay now
iban = IBAN
holder = Account holder
accept = I accept the SEPA Direct Debit mandate.
total = Total
not-found = This payment link is not valid.

## Offer and schedule
frequency-WEEKLY = weekly
frequency-BIWEEKLY = every two weeks
frequency-MONTHLY = monthly
frequency-QUARTERLY = quarterly
frequency-SEMIANNUALLY = every six months
frequency-YEARLY = yearly
schedule = { $amount } { $frequency } from { $start }
trial-free = { $unit ->
    [week] first { $count ->
        [one] week
       *[other] { $count } weeks
    }
    [month] first { $count ->
        [one] month
       *[other] { $count } months
    }
   *[day] first { $count ->
        [one] day
       *[other] { $count } days
    }
} free
trial-paid = { $unit ->
    [week] first { $count ->
        [one] week
       *[other] { $count } weeks
    }
    [month] first { $count ->
        [one] month
       *[other] { $count } months
    }
   *[day] first { $count ->
        [one] day
       *[other] { $count } days
    }
} for { $price }

## Mandate
mandate-title = SEPA Direct Debit mandate
creditor = Creditor
creditor-id = Creditor identifier
mandate-reference = Mandate reference
mandate-type = Type of payment
mandate-one-off = One-off payment
mandate-recurring = Recurring payments
mandate-date = Date
mandate-text = By signing this mandate form, you authorise (A) { $creditor } to send instructions to your bank to debit your account and (B) your bank to debit your account in accordance with the instructions from { $creditor }. As part of your rights, you are entitled to a refund from your bank under the terms and conditions of your agreement with your bank. A refund must be claimed within 8 weeks starting from the date on which your account was debited.
mandate-rights = You are entitled to a refund from your bank within 8 weeks starting from the date on which your account was debited.
mandate-prenotification = You will be notified { $days ->
    [one] at least 1 day
   *[other] at least { $days } days
} before each debit.

## Screens
declined = Your bank declined the payment. Please check your details and try again.
attempts-left = Attempts left:
failed = The payment failed. Nothing more will be debited for this payment.
verification = Your bank asks you to confirm the mandate.
verify = I have confirmed it: finish payment
processing = Your payment is being processed. You can close this page.
completed = Thank you. Your payment is complete.
next = The amount will be debited from your account; you will be notified before each debit.
order-number = Order number
back = Back to the shop
expired = This payment link has expired.
cancelled = This payment was cancelled.
must-accept = Please accept the mandate.

## IBAN errors (live check and the form without JavaScript)
iban-empty = Enter an IBAN.
iban-character = The IBAN contains a character that cannot be in an IBAN: { $character }.
iban-country-code = An IBAN starts with a two-letter country code.
iban-unknown-country = { $country } is not a known IBAN country.
iban-length = { $country } IBANs have { $expected } characters, this one has { $actual }.
iban-format = The IBAN does not have the format of a { $country } IBAN.
iban-check-digits = The IBAN check digits are wrong.
holder-empty = Enter the account holder's name.
holder-too-long = The account holder's name can have at most { $max } characters.
