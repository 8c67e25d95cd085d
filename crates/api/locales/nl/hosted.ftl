# The hosted payment page (/s/{token}), Dutch.

## Formatting
format-group = .
format-decimal = ,
format-amount = { $symbol }{"\u00A0"}{ $number }
format-date = %d-%m-%Y
format-day-month = { $day } { $month }

month-1 = januari
month-2 = februari
month-3 = maart
month-4 = april
month-5 = mei
month-6 = juni
month-7 = juli
month-8 = augustus
month-9 = september
month-10 = oktober
month-11 = november
month-12 = december

## Page
language-nav = Taal
pay = Betalen
iban = IBAN
holder = Rekeninghouder
accept = Ik geef het SEPA-incassomandaat.
total = Totaal
not-found = Deze betaallink is ongeldig.

## Offer and schedule
frequency-WEEKLY = per week
frequency-BIWEEKLY = per twee weken
frequency-MONTHLY = per maand
frequency-QUARTERLY = per kwartaal
frequency-SEMIANNUALLY = per halfjaar
frequency-YEARLY = per jaar
schedule = { $amount } { $frequency } vanaf { $start }
trial-free = { $unit ->
    [week] { $count ->
        [one] eerste week
       *[other] eerste { $count } weken
    }
    [month] { $count ->
        [one] eerste maand
       *[other] eerste { $count } maanden
    }
   *[day] { $count ->
        [one] eerste dag
       *[other] eerste { $count } dagen
    }
} gratis
trial-paid = { $unit ->
    [week] { $count ->
        [one] eerste week
       *[other] eerste { $count } weken
    }
    [month] { $count ->
        [one] eerste maand
       *[other] eerste { $count } maanden
    }
   *[day] { $count ->
        [one] eerste dag
       *[other] eerste { $count } dagen
    }
} voor { $price }

## Mandate
mandate-title = Doorlopende machtiging SEPA
creditor = Incassant
creditor-id = Incassant-ID
mandate-reference = Kenmerk machtiging
mandate-type = Soort betaling
mandate-one-off = Eenmalige betaling
mandate-recurring = Terugkerende betalingen
mandate-date = Datum
mandate-text = Door ondertekening van dit formulier geeft u toestemming aan { $creditor } om incasso-opdrachten te sturen naar uw bank om een bedrag van uw rekening af te schrijven en aan uw bank om een bedrag van uw rekening af te schrijven overeenkomstig de opdracht van { $creditor }. Als u het niet eens bent met deze afschrijving kunt u deze laten terugboeken. Neem hiervoor binnen 8 weken na afschrijving contact op met uw bank. Vraag uw bank naar de voorwaarden.
mandate-rights = U kunt een afschrijving binnen 8 weken na de afschrijvingsdatum laten terugboeken door uw bank.
mandate-prenotification = U krijgt { $days ->
    [one] minstens 1 dag
   *[other] minstens { $days } dagen
} vóór elke afschrijving bericht.

## Screens
declined = Uw bank heeft de betaling geweigerd. Controleer uw gegevens en probeer het opnieuw.
attempts-left = Resterende pogingen:
failed = De betaling is mislukt. Voor deze betaling wordt niets meer afgeschreven.
verification = Uw bank vraagt u het mandaat te bevestigen.
verify = Ik heb bevestigd: betaling afronden
processing = Uw betaling wordt verwerkt. U kunt deze pagina sluiten.
completed = Bedankt. Uw betaling is voltooid.
next = Het bedrag wordt van uw rekening afgeschreven; u krijgt vóór elke afschrijving bericht.
order-number = Bestelnummer
back = Terug naar de winkel
expired = Deze betaallink is verlopen.
cancelled = Deze betaling is geannuleerd.
must-accept = Geef het mandaat om verder te gaan.

## IBAN errors
iban-empty = Vul een IBAN in.
iban-character = De IBAN bevat een teken dat niet in een IBAN kan staan: { $character }.
iban-country-code = Een IBAN begint met een landcode van twee letters.
iban-unknown-country = { $country } is geen bekend IBAN-land.
iban-length = IBAN's uit { $country } hebben { $expected } tekens, deze heeft er { $actual }.
iban-format = De IBAN heeft niet het formaat van een IBAN uit { $country }.
iban-check-digits = De controlecijfers van de IBAN kloppen niet.
holder-empty = Vul de naam van de rekeninghouder in.
holder-too-long = De naam van de rekeninghouder mag hoogstens { $max } tekens hebben.
