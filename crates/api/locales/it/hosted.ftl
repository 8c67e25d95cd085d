# The hosted payment page (/s/{token}), Italian.

## Formatting
format-group = .
format-decimal = ,
format-amount = { $number }{"\u00A0"}{ $symbol }
format-date = %d/%m/%Y
format-day-month = { $day } { $month }

month-1 = gennaio
month-2 = febbraio
month-3 = marzo
month-4 = aprile
month-5 = maggio
month-6 = giugno
month-7 = luglio
month-8 = agosto
month-9 = settembre
month-10 = ottobre
month-11 = novembre
month-12 = dicembre

## Page
language-nav = Lingua
pay = Paga
iban = IBAN
holder = Intestatario del conto
accept = Accetto il mandato di addebito diretto SEPA.
total = Totale
not-found = Questo link di pagamento non è valido.

## Offer and schedule
frequency-WEEKLY = a settimana
frequency-BIWEEKLY = ogni due settimane
frequency-MONTHLY = al mese
frequency-QUARTERLY = al trimestre
frequency-SEMIANNUALLY = al semestre
frequency-YEARLY = all'anno
schedule = { $amount } { $frequency } dal { $start }
trial-free = { $unit ->
    [week] { $count ->
        [one] la prima settimana gratis
       *[other] le prime { $count } settimane gratis
    }
    [month] { $count ->
        [one] il primo mese gratis
       *[other] i primi { $count } mesi gratis
    }
   *[day] { $count ->
        [one] il primo giorno gratis
       *[other] i primi { $count } giorni gratis
    }
}
trial-paid = { $unit ->
    [week] { $count ->
        [one] la prima settimana
       *[other] le prime { $count } settimane
    }
    [month] { $count ->
        [one] il primo mese
       *[other] i primi { $count } mesi
    }
   *[day] { $count ->
        [one] il primo giorno
       *[other] i primi { $count } giorni
    }
} a { $price }

## Mandate
mandate-title = Mandato per addebito diretto SEPA
creditor = Creditore
creditor-id = Codice identificativo del creditore
mandate-reference = Riferimento del mandato
mandate-type = Tipo di pagamento
mandate-one-off = Pagamento singolo
mandate-recurring = Pagamenti ricorrenti
mandate-date = Data
mandate-text = La sottoscrizione del presente mandato comporta (A) l'autorizzazione a { $creditor } a richiedere alla banca del debitore l'addebito del suo conto e (B) l'autorizzazione alla banca del debitore di procedere a tale addebito conformemente alle disposizioni impartite da { $creditor }. Il debitore ha diritto di ottenere il rimborso dalla propria banca secondo gli accordi ed alle condizioni che regolano il rapporto con quest'ultima. Il rimborso deve essere richiesto nel termine di 8 settimane a decorrere dalla data di addebito in conto.
mandate-rights = Ha diritto al rimborso dalla propria banca entro 8 settimane dalla data di addebito.
mandate-prenotification = Riceverà un preavviso { $days ->
    [one] di almeno 1 giorno
   *[other] di almeno { $days } giorni
} prima di ogni addebito.

## Screens
declined = La banca ha rifiutato il pagamento. Controlla i dati e riprova.
attempts-left = Tentativi rimasti:
failed = Il pagamento non è riuscito. Non verrà addebitato altro per questo pagamento.
verification = La tua banca ti chiede di confermare il mandato.
verify = Ho confermato: completa il pagamento
processing = Il pagamento è in elaborazione. Puoi chiudere questa pagina.
completed = Grazie. Il pagamento è completato.
next = L'importo sarà addebitato sul tuo conto; riceverai un preavviso prima di ogni addebito.
order-number = Numero d'ordine
back = Torna al negozio
expired = Questo link di pagamento è scaduto.
cancelled = Questo pagamento è stato annullato.
must-accept = Accetta il mandato.

## IBAN errors
iban-empty = Inserisci un IBAN.
iban-character = L'IBAN contiene un carattere che non può comparire in un IBAN: { $character }.
iban-country-code = Un IBAN inizia con un codice paese di due lettere.
iban-unknown-country = { $country } non è un paese IBAN noto.
iban-length = Gli IBAN { $country } hanno { $expected } caratteri, questo ne ha { $actual }.
iban-format = L'IBAN non ha il formato di un IBAN { $country }.
iban-check-digits = Le cifre di controllo dell'IBAN sono errate.
holder-empty = Inserisci il nome dell'intestatario del conto.
holder-too-long = Il nome dell'intestatario del conto può avere al massimo { $max } caratteri.
