# The hosted payment page (/s/{token}), German.

## Formatting
format-group = .
format-decimal = ,
format-amount = { $number }{"\u00A0"}{ $symbol }
format-date = %d.%m.%Y
format-day-month = { $day }. { $month }

month-1 = Januar
month-2 = Februar
month-3 = März
month-4 = April
month-5 = Mai
month-6 = Juni
month-7 = Juli
month-8 = August
month-9 = September
month-10 = Oktober
month-11 = November
month-12 = Dezember

## Page
language-nav = Sprache
pay = Jetzt bezahlen
iban = IBAN
holder = Kontoinhaber
accept = Ich erteile das SEPA-Lastschriftmandat.
total = Summe
not-found = Dieser Zahlungslink ist ungültig.

## Offer and schedule
frequency-WEEKLY = wöchentlich
frequency-BIWEEKLY = alle zwei Wochen
frequency-MONTHLY = monatlich
frequency-QUARTERLY = vierteljährlich
frequency-SEMIANNUALLY = halbjährlich
frequency-YEARLY = jährlich
schedule = { $amount } { $frequency } ab { $start }
trial-free = { $unit ->
    [week] { $count ->
        [one] die erste Woche
       *[other] die ersten { $count } Wochen
    }
    [month] { $count ->
        [one] der erste Monat
       *[other] die ersten { $count } Monate
    }
   *[day] { $count ->
        [one] der erste Tag
       *[other] die ersten { $count } Tage
    }
} kostenlos
trial-paid = { $unit ->
    [week] { $count ->
        [one] die erste Woche
       *[other] die ersten { $count } Wochen
    }
    [month] { $count ->
        [one] der erste Monat
       *[other] die ersten { $count } Monate
    }
   *[day] { $count ->
        [one] der erste Tag
       *[other] die ersten { $count } Tage
    }
} für { $price }

## Mandate
mandate-title = SEPA-Lastschriftmandat
creditor = Zahlungsempfänger
creditor-id = Gläubiger-Identifikationsnummer
mandate-reference = Mandatsreferenz
mandate-type = Zahlungsart
mandate-one-off = Einmalige Zahlung
mandate-recurring = Wiederkehrende Zahlungen
mandate-date = Datum
mandate-text = Ich ermächtige { $creditor }, Zahlungen von meinem Konto mittels Lastschrift einzuziehen. Zugleich weise ich mein Kreditinstitut an, die von { $creditor } auf mein Konto gezogenen Lastschriften einzulösen. Hinweis: Ich kann innerhalb von acht Wochen, beginnend mit dem Belastungsdatum, die Erstattung des belasteten Betrages verlangen. Es gelten dabei die mit meinem Kreditinstitut vereinbarten Bedingungen.
mandate-rights = Sie können innerhalb von acht Wochen, beginnend mit dem Belastungsdatum, die Erstattung des belasteten Betrages verlangen.
mandate-prenotification = Sie werden { $days ->
    [one] mindestens 1 Tag
   *[other] mindestens { $days } Tage
} vor jeder Belastung benachrichtigt.

## Screens
declined = Ihre Bank hat die Zahlung abgelehnt. Bitte prüfen Sie Ihre Angaben und versuchen Sie es erneut.
attempts-left = Verbleibende Versuche:
failed = Die Zahlung ist fehlgeschlagen. Für diese Zahlung wird nichts mehr abgebucht.
verification = Ihre Bank bittet Sie, das Mandat zu bestätigen.
verify = Ich habe bestätigt: Zahlung abschließen
processing = Ihre Zahlung wird bearbeitet. Sie können diese Seite schließen.
completed = Vielen Dank. Ihre Zahlung ist abgeschlossen.
next = Der Betrag wird von Ihrem Konto abgebucht; Sie werden vor jeder Belastung benachrichtigt.
order-number = Bestellnummer
back = Zurück zum Shop
expired = Dieser Zahlungslink ist abgelaufen.
cancelled = Diese Zahlung wurde abgebrochen.
must-accept = Bitte erteilen Sie das Mandat.

## IBAN errors
iban-empty = Bitte geben Sie eine IBAN ein.
iban-character = Die IBAN enthält ein Zeichen, das in einer IBAN nicht vorkommen kann: { $character }.
iban-country-code = Eine IBAN beginnt mit einem zweistelligen Ländercode.
iban-unknown-country = { $country } ist kein bekanntes IBAN-Land.
iban-length = IBANs aus { $country } haben { $expected } Zeichen, diese hat { $actual }.
iban-format = Die IBAN hat nicht das Format einer IBAN aus { $country }.
iban-check-digits = Die Prüfziffern der IBAN stimmen nicht.
holder-empty = Bitte geben Sie den Namen des Kontoinhabers ein.
holder-too-long = Der Name des Kontoinhabers darf höchstens { $max } Zeichen haben.
