# The hosted payment page (/s/{token}), Portuguese.

## Formatting
format-group = {"\u00A0"}
format-decimal = ,
format-amount = { $number }{"\u00A0"}{ $symbol }
format-date = %d/%m/%Y
format-day-month = { $day } de { $month }

month-1 = janeiro
month-2 = fevereiro
month-3 = março
month-4 = abril
month-5 = maio
month-6 = junho
month-7 = julho
month-8 = agosto
month-9 = setembro
month-10 = outubro
month-11 = novembro
month-12 = dezembro

## Page
language-nav = Idioma
pay = Pagar agora
iban = IBAN
holder = Titular da conta
accept = Aceito a autorização de débito direto SEPA.
total = Total
not-found = Este link de pagamento não é válido.

## Offer and schedule
frequency-WEEKLY = por semana
frequency-BIWEEKLY = a cada duas semanas
frequency-MONTHLY = por mês
frequency-QUARTERLY = por trimestre
frequency-SEMIANNUALLY = por semestre
frequency-YEARLY = por ano
schedule = { $amount } { $frequency } a partir de { $start }
trial-free = { $unit ->
    [week] { $count ->
        [one] primeira semana grátis
       *[other] primeiras { $count } semanas grátis
    }
    [month] { $count ->
        [one] primeiro mês grátis
       *[other] primeiros { $count } meses grátis
    }
   *[day] { $count ->
        [one] primeiro dia grátis
       *[other] primeiros { $count } dias grátis
    }
}
trial-paid = { $unit ->
    [week] { $count ->
        [one] primeira semana
       *[other] primeiras { $count } semanas
    }
    [month] { $count ->
        [one] primeiro mês
       *[other] primeiros { $count } meses
    }
   *[day] { $count ->
        [one] primeiro dia
       *[other] primeiros { $count } dias
    }
} por { $price }

## Mandate
mandate-title = Autorização de débito direto SEPA
creditor = Credor
creditor-id = Identificador do credor
mandate-reference = Referência da autorização
mandate-type = Tipo de pagamento
mandate-one-off = Pagamento único
mandate-recurring = Pagamentos recorrentes
mandate-date = Data
mandate-text = Ao subscrever esta autorização, está a autorizar (A) { $creditor } a enviar instruções ao seu banco para debitar a sua conta e (B) o seu banco a debitar a sua conta de acordo com as instruções de { $creditor }. Os seus direitos incluem a possibilidade de exigir do seu banco o reembolso do montante debitado, nos termos e condições acordados com o seu banco. O reembolso deve ser solicitado até um prazo de oito semanas a contar da data do débito na sua conta.
mandate-rights = Tem direito ao reembolso pelo seu banco no prazo de 8 semanas a contar da data do débito na sua conta.
mandate-prenotification = Será notificado { $days ->
    [one] com pelo menos 1 dia
   *[other] com pelo menos { $days } dias
} de antecedência antes de cada débito.

## Screens
declined = O seu banco recusou o pagamento. Verifique os seus dados e tente novamente.
attempts-left = Tentativas restantes:
failed = O pagamento falhou. Nada mais será debitado por este pagamento.
verification = O seu banco pede-lhe que confirme a autorização.
verify = Já confirmei: concluir o pagamento
processing = O seu pagamento está a ser processado. Pode fechar esta página.
completed = Obrigado. O seu pagamento está concluído.
next = O montante será debitado da sua conta; será notificado antes de cada débito.
order-number = Número da encomenda
back = Voltar à loja
expired = Este link de pagamento expirou.
cancelled = Este pagamento foi cancelado.
must-accept = Aceite a autorização.

## IBAN errors
iban-empty = Introduza um IBAN.
iban-character = O IBAN contém um carácter que não pode existir num IBAN: { $character }.
iban-country-code = Um IBAN começa por um código de país de duas letras.
iban-unknown-country = { $country } não é um país IBAN conhecido.
iban-length = Os IBAN de { $country } têm { $expected } caracteres, este tem { $actual }.
iban-format = O IBAN não tem o formato de um IBAN de { $country }.
iban-check-digits = Os dígitos de controlo do IBAN estão errados.
holder-empty = Introduza o nome do titular da conta.
holder-too-long = O nome do titular da conta pode ter no máximo { $max } caracteres.
