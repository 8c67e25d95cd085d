# The hosted payment page (/s/{token}), Spanish.

## Formatting
format-group = .
format-decimal = ,
format-amount = { $number }{"\u00A0"}{ $symbol }
format-date = %d/%m/%Y
format-day-month = { $day } de { $month }

month-1 = enero
month-2 = febrero
month-3 = marzo
month-4 = abril
month-5 = mayo
month-6 = junio
month-7 = julio
month-8 = agosto
month-9 = septiembre
month-10 = octubre
month-11 = noviembre
month-12 = diciembre

## Page
language-nav = Idioma
pay = Pagar
iban = IBAN
holder = Titular de la cuenta
accept = Acepto la orden de domiciliación SEPA.
total = Total
not-found = Este enlace de pago no es válido.

## Offer and schedule
frequency-WEEKLY = semanales
frequency-BIWEEKLY = cada dos semanas
frequency-MONTHLY = al mes
frequency-QUARTERLY = al trimestre
frequency-SEMIANNUALLY = al semestre
frequency-YEARLY = al año
schedule = { $amount } { $frequency } a partir del { $start }
trial-free = { $unit ->
    [week] { $count ->
        [one] la primera semana gratis
       *[other] las primeras { $count } semanas gratis
    }
    [month] { $count ->
        [one] el primer mes gratis
       *[other] los primeros { $count } meses gratis
    }
   *[day] { $count ->
        [one] el primer día gratis
       *[other] los primeros { $count } días gratis
    }
}
trial-paid = { $unit ->
    [week] { $count ->
        [one] la primera semana
       *[other] las primeras { $count } semanas
    }
    [month] { $count ->
        [one] el primer mes
       *[other] los primeros { $count } meses
    }
   *[day] { $count ->
        [one] el primer día
       *[other] los primeros { $count } días
    }
} por { $price }

## Mandate
mandate-title = Orden de domiciliación SEPA
creditor = Acreedor
creditor-id = Identificador del acreedor
mandate-reference = Referencia de la orden
mandate-type = Tipo de pago
mandate-one-off = Pago único
mandate-recurring = Pagos recurrentes
mandate-date = Fecha
mandate-text = Mediante la firma de esta orden de domiciliación, el deudor autoriza (A) a { $creditor } a enviar instrucciones a la entidad del deudor para adeudar su cuenta y (B) a la entidad para efectuar los adeudos en su cuenta siguiendo las instrucciones de { $creditor }. Como parte de sus derechos, el deudor está legitimado al reembolso por su entidad en los términos y condiciones del contrato suscrito con la misma. La solicitud de reembolso deberá efectuarse dentro de las ocho semanas que siguen a la fecha de adeudo en cuenta.
mandate-rights = Tiene derecho al reembolso por su entidad dentro de las ocho semanas siguientes a la fecha de adeudo.
mandate-prenotification = Se le avisará { $days ->
    [one] al menos 1 día
   *[other] al menos { $days } días
} antes de cada adeudo.

## Screens
declined = Su banco rechazó el pago. Compruebe sus datos e inténtelo de nuevo.
attempts-left = Intentos restantes:
failed = El pago ha fallado. No se cargará nada más por este pago.
verification = Su banco le pide que confirme la orden.
verify = Ya he confirmado: completar el pago
processing = Su pago se está procesando. Puede cerrar esta página.
completed = Gracias. Su pago se ha completado.
next = El importe se cargará en su cuenta; se le avisará antes de cada adeudo.
order-number = Número de pedido
back = Volver a la tienda
expired = Este enlace de pago ha caducado.
cancelled = Este pago se ha cancelado.
must-accept = Acepte la orden de domiciliación.

## IBAN errors
iban-empty = Introduzca un IBAN.
iban-character = El IBAN contiene un carácter que no puede aparecer en un IBAN: { $character }.
iban-country-code = Un IBAN empieza por un código de país de dos letras.
iban-unknown-country = { $country } no es un país IBAN conocido.
iban-length = Los IBAN de { $country } tienen { $expected } caracteres, este tiene { $actual }.
iban-format = El IBAN no tiene el formato de un IBAN de { $country }.
iban-check-digits = Los dígitos de control del IBAN son incorrectos.
holder-empty = Introduzca el nombre del titular de la cuenta.
holder-too-long = El nombre del titular de la cuenta puede tener como máximo { $max } caracteres.
