//! The SEPA Core Direct Debit mandate text shown before a customer pays, per locale.

use crate::session::Locale;

/// The mandate wording of the EPC SEPA Core rulebook in `locale`, naming `creditor`.
///
/// ```
/// use catalyst_domain::{mandate::mandate_text, session::Locale};
/// let text = mandate_text(Locale::En, "Acme Ltd");
/// assert!(text.starts_with("By signing this mandate form, you authorise (A) Acme Ltd"));
/// assert!(mandate_text(Locale::De, "Acme").contains("Ich ermächtige Acme"));
/// ```
pub fn mandate_text(locale: Locale, creditor: &str) -> String {
    let template = match locale {
        Locale::En => {
            "By signing this mandate form, you authorise (A) {c} to send instructions to your bank to debit your account and (B) your bank to debit your account in accordance with the instructions from {c}. As part of your rights, you are entitled to a refund from your bank under the terms and conditions of your agreement with your bank. A refund must be claimed within 8 weeks starting from the date on which your account was debited."
        }
        Locale::De => {
            "Ich ermächtige {c}, Zahlungen von meinem Konto mittels Lastschrift einzuziehen. Zugleich weise ich mein Kreditinstitut an, die von {c} auf mein Konto gezogenen Lastschriften einzulösen. Hinweis: Ich kann innerhalb von acht Wochen, beginnend mit dem Belastungsdatum, die Erstattung des belasteten Betrages verlangen. Es gelten dabei die mit meinem Kreditinstitut vereinbarten Bedingungen."
        }
        Locale::Fr => {
            "En signant ce formulaire de mandat, vous autorisez (A) {c} à envoyer des instructions à votre banque pour débiter votre compte, et (B) votre banque à débiter votre compte conformément aux instructions de {c}. Vous bénéficiez du droit d'être remboursé par votre banque selon les conditions décrites dans la convention que vous avez passée avec elle. Une demande de remboursement doit être présentée dans les 8 semaines suivant la date de débit de votre compte."
        }
        Locale::Es => {
            "Mediante la firma de esta orden de domiciliación, el deudor autoriza (A) a {c} a enviar instrucciones a la entidad del deudor para adeudar su cuenta y (B) a la entidad para efectuar los adeudos en su cuenta siguiendo las instrucciones de {c}. Como parte de sus derechos, el deudor está legitimado al reembolso por su entidad en los términos y condiciones del contrato suscrito con la misma. La solicitud de reembolso deberá efectuarse dentro de las ocho semanas que siguen a la fecha de adeudo en cuenta."
        }
        Locale::It => {
            "La sottoscrizione del presente mandato comporta (A) l'autorizzazione a {c} a richiedere alla banca del debitore l'addebito del suo conto e (B) l'autorizzazione alla banca del debitore di procedere a tale addebito conformemente alle disposizioni impartite da {c}. Il debitore ha diritto di ottenere il rimborso dalla propria banca secondo gli accordi ed alle condizioni che regolano il rapporto con quest'ultima. Il rimborso deve essere richiesto nel termine di 8 settimane a decorrere dalla data di addebito in conto."
        }
        Locale::Nl => {
            "Door ondertekening van dit formulier geeft u toestemming aan {c} om incasso-opdrachten te sturen naar uw bank om een bedrag van uw rekening af te schrijven en aan uw bank om een bedrag van uw rekening af te schrijven overeenkomstig de opdracht van {c}. Als u het niet eens bent met deze afschrijving kunt u deze laten terugboeken. Neem hiervoor binnen 8 weken na afschrijving contact op met uw bank. Vraag uw bank naar de voorwaarden."
        }
        Locale::Ja => {
            "このマンデートに署名することにより、お客様は (A) {c} がお客様の銀行に口座からの引き落としを指示すること、および (B) お客様の銀行が {c} の指示に従って口座から引き落とすことを承認します。お客様は、銀行との契約条件に基づき、銀行から返金を受ける権利を有します。返金の請求は、口座から引き落とされた日から8週間以内に行う必要があります。"
        }
    };
    template.replace("{c}", creditor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_locale_names_the_creditor_twice_and_no_placeholder_remains() {
        for locale in Locale::ALL {
            let text = mandate_text(*locale, "Zebra Payments GmbH");
            assert_eq!(text.matches("Zebra Payments GmbH").count(), 2, "{locale:?}");
            assert!(!text.contains("{c}"), "{locale:?}");
        }
    }
}
