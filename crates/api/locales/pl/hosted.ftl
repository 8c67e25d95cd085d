# The hosted payment page (/s/{token}), Polish.

## Formatting
format-group = {"\u00A0"}
format-decimal = ,
format-amount = { $number }{"\u00A0"}{ $symbol }
format-date = %d.%m.%Y
format-day-month = { $day } { $month }

month-1 = stycznia
month-2 = lutego
month-3 = marca
month-4 = kwietnia
month-5 = maja
month-6 = czerwca
month-7 = lipca
month-8 = sierpnia
month-9 = września
month-10 = października
month-11 = listopada
month-12 = grudnia

## Page
language-nav = Język
pay = Zapłać teraz
iban = IBAN
holder = Właściciel rachunku
accept = Akceptuję polecenie zapłaty SEPA.
total = Razem
not-found = Ten link do płatności jest nieprawidłowy.

## Offer and schedule
frequency-WEEKLY = tygodniowo
frequency-BIWEEKLY = co dwa tygodnie
frequency-MONTHLY = miesięcznie
frequency-QUARTERLY = kwartalnie
frequency-SEMIANNUALLY = co pół roku
frequency-YEARLY = rocznie
schedule = { $amount } { $frequency } od { $start }
trial-free = { $unit ->
    [week] { $count ->
        [one] pierwszy tydzień
        [few] pierwsze { $count } tygodnie
       *[other] pierwsze { $count } tygodni
    }
    [month] { $count ->
        [one] pierwszy miesiąc
        [few] pierwsze { $count } miesiące
       *[other] pierwszych { $count } miesięcy
    }
   *[day] { $count ->
        [one] pierwszy dzień
       *[other] pierwsze { $count } dni
    }
} gratis
trial-paid = { $unit ->
    [week] { $count ->
        [one] pierwszy tydzień
        [few] pierwsze { $count } tygodnie
       *[other] pierwsze { $count } tygodni
    }
    [month] { $count ->
        [one] pierwszy miesiąc
        [few] pierwsze { $count } miesiące
       *[other] pierwszych { $count } miesięcy
    }
   *[day] { $count ->
        [one] pierwszy dzień
       *[other] pierwsze { $count } dni
    }
} za { $price }

## Mandate
mandate-title = Polecenie zapłaty SEPA
creditor = Odbiorca
creditor-id = Identyfikator odbiorcy
mandate-reference = Numer referencyjny upoważnienia
mandate-type = Rodzaj płatności
mandate-one-off = Płatność jednorazowa
mandate-recurring = Płatności cykliczne
mandate-date = Data
mandate-text = Podpisując niniejsze upoważnienie, upoważniasz (A) { $creditor } do wysyłania poleceń do Twojego banku w celu obciążenia Twojego rachunku oraz (B) Twój bank do obciążenia Twojego rachunku zgodnie z poleceniami { $creditor }. W ramach swoich praw możesz żądać od banku zwrotu środków na warunkach umowy zawartej z bankiem. Żądanie zwrotu należy zgłosić w ciągu 8 tygodni od dnia obciążenia rachunku.
mandate-rights = Możesz żądać od swojego banku zwrotu środków w ciągu 8 tygodni od dnia obciążenia rachunku.
mandate-prenotification = Powiadomimy Cię { $days ->
    [one] co najmniej 1 dzień
   *[other] co najmniej { $days } dni
} przed każdym obciążeniem.

## Screens
declined = Twój bank odrzucił płatność. Sprawdź dane i spróbuj ponownie.
attempts-left = Pozostałe próby:
failed = Płatność nie powiodła się. Za tę płatność nic więcej nie zostanie pobrane.
verification = Twój bank prosi o potwierdzenie upoważnienia.
verify = Potwierdziłem: dokończ płatność
processing = Płatność jest przetwarzana. Możesz zamknąć tę stronę.
completed = Dziękujemy. Płatność została zakończona.
next = Kwota zostanie pobrana z Twojego rachunku; przed każdym obciążeniem otrzymasz powiadomienie.
order-number = Numer zamówienia
back = Powrót do sklepu
expired = Ten link do płatności wygasł.
cancelled = Ta płatność została anulowana.
must-accept = Zaakceptuj upoważnienie.

## IBAN errors
iban-empty = Wpisz numer IBAN.
iban-character = IBAN zawiera znak, którego nie może być w numerze IBAN: { $character }.
iban-country-code = IBAN zaczyna się od dwuliterowego kodu kraju.
iban-unknown-country = { $country } nie jest znanym krajem IBAN.
iban-length = Nieprawidłowa długość IBAN ({ $country }): oczekiwano { $expected } znaków, wpisano { $actual }.
iban-format = IBAN nie ma formatu numeru IBAN z kraju { $country }.
iban-check-digits = Cyfry kontrolne IBAN są nieprawidłowe.
holder-empty = Podaj imię i nazwisko właściciela rachunku.
holder-too-long = Imię i nazwisko właściciela rachunku może mieć najwyżej { $max } znaków.
