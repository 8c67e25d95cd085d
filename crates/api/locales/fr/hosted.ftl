# The hosted payment page (/s/{token}), French.

## Formatting
format-group = {"\u202F"}
format-decimal = ,
format-amount = { $number }{"\u00A0"}{ $symbol }
format-date = %d/%m/%Y
format-day-month = { $day } { $month }

month-1 = janvier
month-2 = février
month-3 = mars
month-4 = avril
month-5 = mai
month-6 = juin
month-7 = juillet
month-8 = août
month-9 = septembre
month-10 = octobre
month-11 = novembre
month-12 = décembre

## Page
language-nav = Langue
pay = Payer
iban = IBAN
holder = Titulaire du compte
accept = J'accepte le mandat de prélèvement SEPA.
total = Total
not-found = Ce lien de paiement n'est pas valide.

## Offer and schedule
frequency-WEEKLY = par semaine
frequency-BIWEEKLY = toutes les deux semaines
frequency-MONTHLY = par mois
frequency-QUARTERLY = par trimestre
frequency-SEMIANNUALLY = par semestre
frequency-YEARLY = par an
schedule = { $amount } { $frequency } à partir du { $start }
trial-free = { $unit ->
    [week] { $count ->
        [one] première semaine offerte
       *[other] { $count } premières semaines offertes
    }
    [month] { $count ->
        [one] premier mois offert
       *[other] { $count } premiers mois offerts
    }
   *[day] { $count ->
        [one] premier jour offert
       *[other] { $count } premiers jours offerts
    }
}
trial-paid = { $unit ->
    [week] { $count ->
        [one] première semaine
       *[other] { $count } premières semaines
    }
    [month] { $count ->
        [one] premier mois
       *[other] { $count } premiers mois
    }
   *[day] { $count ->
        [one] premier jour
       *[other] { $count } premiers jours
    }
} à { $price }

## Mandate
mandate-title = Mandat de prélèvement SEPA
creditor = Créancier
creditor-id = Identifiant créancier SEPA
mandate-reference = Référence unique du mandat
mandate-type = Type de paiement
mandate-one-off = Paiement ponctuel
mandate-recurring = Paiements récurrents
mandate-date = Date
mandate-text = En signant ce formulaire de mandat, vous autorisez (A) { $creditor } à envoyer des instructions à votre banque pour débiter votre compte, et (B) votre banque à débiter votre compte conformément aux instructions de { $creditor }. Vous bénéficiez du droit d'être remboursé par votre banque selon les conditions décrites dans la convention que vous avez passée avec elle. Une demande de remboursement doit être présentée dans les 8 semaines suivant la date de débit de votre compte.
mandate-rights = Vous bénéficiez du droit d'être remboursé par votre banque dans les 8 semaines suivant la date de débit de votre compte.
mandate-prenotification = Vous serez informé { $days ->
    [one] au moins 1 jour
   *[other] au moins { $days } jours
} avant chaque prélèvement.

## Screens
declined = Votre banque a refusé le paiement. Vérifiez vos informations et réessayez.
attempts-left = Tentatives restantes :
failed = Le paiement a échoué. Rien de plus ne sera prélevé pour ce paiement.
verification = Votre banque vous demande de confirmer le mandat.
verify = J'ai confirmé : terminer le paiement
processing = Votre paiement est en cours de traitement. Vous pouvez fermer cette page.
completed = Merci. Votre paiement est terminé.
next = Le montant sera prélevé sur votre compte ; vous serez informé avant chaque prélèvement.
order-number = Numéro de commande
back = Retour à la boutique
expired = Ce lien de paiement a expiré.
cancelled = Ce paiement a été annulé.
must-accept = Veuillez accepter le mandat.

## IBAN errors
iban-empty = Saisissez un IBAN.
iban-character = L'IBAN contient un caractère impossible dans un IBAN : { $character }.
iban-country-code = Un IBAN commence par un code pays de deux lettres.
iban-unknown-country = { $country } n'est pas un pays IBAN connu.
iban-length = Les IBAN { $country } comptent { $expected } caractères, celui-ci en compte { $actual }.
iban-format = L'IBAN n'a pas le format d'un IBAN { $country }.
iban-check-digits = La clé de contrôle de l'IBAN est incorrecte.
holder-empty = Saisissez le nom du titulaire du compte.
holder-too-long = Le nom du titulaire du compte compte au plus { $max } caractères.
