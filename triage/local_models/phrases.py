"""The reply drafter's sentences in each language it writes: English and the six other languages the
local models were trained on (``language.TRAINED_LANGUAGES``).

Each entry is one whole sentence (or a piece of one, for the ``details.*`` and ``greeting.*`` keys)
with ``str.format`` fields for values taken from the ticket. Every language has every key, and a
sentence stays one sentence in every language (the drafter counts them). Product areas are English
words found in the ticket ("export", "dashboard"), so the other languages name them after a neutral
noun ("im Bereich Export", "dans la section Export") instead of guessing their gender.
The wording promises only what a person will do next, never an action already taken.
"""

from __future__ import annotations

PHRASES: dict[str, dict[str, str]] = {
    "en": {
        "opener.churn": (
            "I'm sorry we've let you down, and I understand you're weighing whether to stay with us."
        ),
        "opener.security": (
            "Thank you for flagging this so quickly; we take possible unauthorised access very seriously."
        ),
        "opener.again": (
            "I'm sorry this has happened again, and I understand how disruptive it is for your team."
        ),
        "opener.disruption": "I'm sorry for the disruption this is causing.",
        "opener.disruption_team": "I'm sorry for the disruption this is causing to your team.",
        "opener.frustration": "I'm sorry for the frustration this has caused.",
        "opener.kind": "Thank you for your kind message!",
        "opener.suggestion": "Thank you for taking the time to share this with us.",
        "opener.invoice": "Thanks for getting in touch about invoice {invoice}.",
        "opener.billing": "Thanks for getting in touch about your billing question.",
        "opener.bug_area": "Thanks for getting in touch about the problem with the {area}.",
        "opener.bug": "Thanks for getting in touch about the problem you're seeing.",
        "opener.account": "Thanks for getting in touch about your account.",
        "opener.question": "Thanks for getting in touch about your question.",
        "opener.plain": "Thanks for getting in touch.",
        "billing.invoice": (
            "Our billing team will review invoice {invoices} and confirm exactly what was charged and why."
        ),
        "billing.invoices": (
            "Our billing team will review invoices {invoices} and confirm exactly what was charged and why."
        ),
        "billing.invoice_amount": (
            "Our billing team will review invoice {invoices} for {amount} "
            "and confirm exactly what was charged and why."
        ),
        "billing.invoices_amount": (
            "Our billing team will review invoices {invoices} for {amount} "
            "and confirm exactly what was charged and why."
        ),
        "billing.charges": (
            "Our billing team will review the charges on your account and confirm what happened."
        ),
        "billing.ask_invoice": (
            "If you can, please reply with the invoice number so we can find the charge quickly."
        ),
        "bug.high": "Our engineers are treating {details} as high priority and will investigate it.",
        "bug.high_unspecified": "Our engineers are treating this as high priority and will investigate it.",
        "bug.look": "Our engineers will look into {details}.",
        "bug.look_unspecified": "Our engineers will look into this problem.",
        "bug.ask_error": (
            "If you can, please reply with the exact error message and when it started, "
            "which helps us find the cause faster."
        ),
        "details.error": "the {errors} error",
        "details.errors": "the {errors} errors",
        # An error that names itself ("500 Internal Server Error") needs no second "error".
        "details.named": "the {errors}",
        "details.named_plural": "the {errors}",
        "details.on_area": "on the {area}",
        "details.problem_area": "the problem with the {area}",
        "details.problem": "the problem",
        "details.since": "({time} onwards)",
        "account.security_steps": (
            "Please change your password and revoke any API keys or sessions you don't recognise right away."
        ),
        "account.security_review": "Our team will review the recent activity on your account with you.",
        "account.access": "Our account team will look into your access and reply here with next steps.",
        "account.access_errors": (
            "Our account team will look into your access (including the {errors} responses) "
            "and reply here with next steps."
        ),
        "howto.steps": "A member of our team will reply with step-by-step instructions.",
        "howto.steps_integration": (
            "A member of our team will reply with step-by-step instructions "
            "for the {integration} integration."
        ),
        "howto.steps_area": "A member of our team will reply with step-by-step instructions for the {area}.",
        "feature.named": (
            "Our product team reviews every suggestion, including adding {feature}, "
            "though I can't promise a timeline."
        ),
        "feature.generic": (
            "Our product team reviews every suggestion, like this one, though I can't promise a timeline."
        ),
        "feature.separate_error": (
            "The {error} error on the {area} is a separate problem, and our engineers will look at it too."
        ),
        "feature.complaint": (
            "The problem you mention is in this ticket too, so our engineers can look at it."
        ),
        "feature.complaint_area": (
            "The problem you mention with the {area} is in this ticket too, so our engineers can look at it."
        ),
        "other.read": "A member of our team will read your message and reply if anything is needed from us.",
        "closing.faq": "If that doesn't solve it, just reply here and we'll help further.",
        "closing.updates": "We'll keep you updated here as soon as we know more.",
        "closing.reply": "We'll reply here as soon as we've looked into it.",
        "greeting.plain": "Hi,",
        "greeting.named": "Hi {name},",
        "join.and": "and",
    },
    "de": {
        "opener.churn": (
            "Es tut mir leid, dass wir Sie enttäuscht haben, und ich verstehe, "
            "dass Sie überlegen, ob Sie bei uns bleiben."
        ),
        "opener.security": (
            "Vielen Dank, dass Sie das so schnell gemeldet haben; "
            "einen möglichen unbefugten Zugriff nehmen wir sehr ernst."
        ),
        "opener.again": (
            "Es tut mir leid, dass das erneut passiert ist, und ich verstehe, "
            "wie sehr es Ihr Team bei der Arbeit stört."
        ),
        "opener.disruption": "Es tut mir leid, dass Sie dadurch so beeinträchtigt sind.",
        "opener.disruption_team": "Es tut mir leid, dass Ihr Team dadurch so beeinträchtigt ist.",
        "opener.frustration": "Es tut mir leid, dass Ihnen das so viel Ärger bereitet hat.",
        "opener.kind": "Vielen Dank für Ihre freundliche Nachricht!",
        "opener.suggestion": "Vielen Dank, dass Sie sich die Zeit genommen haben, uns das mitzuteilen.",
        "opener.invoice": "Danke für Ihre Nachricht zur Rechnung {invoice}.",
        "opener.billing": "Danke für Ihre Nachricht zu Ihrer Abrechnung.",
        "opener.bug_area": "Danke, dass Sie uns das Problem im Bereich {area} gemeldet haben.",
        "opener.bug": "Danke, dass Sie uns das Problem gemeldet haben.",
        "opener.account": "Danke für Ihre Nachricht zu Ihrem Konto.",
        "opener.question": "Danke für Ihre Frage.",
        "opener.plain": "Danke für Ihre Nachricht.",
        "billing.invoice": (
            "Unser Abrechnungsteam prüft die Rechnung {invoices} und sagt Ihnen genau, "
            "was berechnet wurde und warum."
        ),
        "billing.invoices": (
            "Unser Abrechnungsteam prüft die Rechnungen {invoices} und sagt Ihnen genau, "
            "was berechnet wurde und warum."
        ),
        "billing.invoice_amount": (
            "Unser Abrechnungsteam prüft die Rechnung {invoices} über {amount} und sagt Ihnen genau, "
            "was berechnet wurde und warum."
        ),
        "billing.invoices_amount": (
            "Unser Abrechnungsteam prüft die Rechnungen {invoices} ({amount}) und sagt Ihnen genau, "
            "was berechnet wurde und warum."
        ),
        "billing.charges": (
            "Unser Abrechnungsteam prüft die Abbuchungen auf Ihrem Konto und sagt Ihnen, was passiert ist."
        ),
        "billing.ask_invoice": (
            "Wenn möglich, antworten Sie bitte mit der "
            "Rechnungsnummer, damit wir die Abbuchung schnell finden."
        ),
        "bug.high": "Unsere Entwickler behandeln {details} mit hoher Priorität und gehen der Sache nach.",
        "bug.high_unspecified": (
            "Unsere Entwickler behandeln das mit hoher Priorität und gehen der Sache nach."
        ),
        "bug.look": "Unsere Entwickler sehen sich {details} genauer an.",
        "bug.look_unspecified": "Unsere Entwickler sehen sich das Problem genauer an.",
        "bug.ask_error": (
            "Wenn möglich, schicken Sie uns bitte die genaue Fehlermeldung und seit wann sie auftritt, "
            "damit wir die Ursache schneller finden."
        ),
        "details.error": "den Fehler {errors}",
        "details.errors": "die Fehler {errors}",
        "details.named": "den Fehler {errors}",
        "details.named_plural": "die Fehler {errors}",
        "details.on_area": "im Bereich {area}",
        "details.problem_area": "das Problem im Bereich {area}",
        "details.problem": "das Problem",
        "details.since": "(seit {time})",
        "account.security_steps": (
            "Bitte ändern Sie sofort Ihr Passwort und widerrufen Sie alle API-Schlüssel und Sitzungen, "
            "die Sie nicht kennen."
        ),
        "account.security_review": (
            "Unser Team geht die letzten Aktivitäten in Ihrem Konto gemeinsam mit Ihnen durch."
        ),
        "account.access": (
            "Unser Kontoteam prüft Ihren Zugang und meldet sich hier mit den nächsten Schritten."
        ),
        "account.access_errors": (
            "Unser Kontoteam prüft Ihren Zugang (auch die Antworten mit {errors}) "
            "und meldet sich hier mit den nächsten Schritten."
        ),
        "howto.steps": "Jemand aus unserem Team schickt Ihnen eine Schritt-für-Schritt-Anleitung.",
        "howto.steps_integration": (
            "Jemand aus unserem Team schickt Ihnen eine Schritt-für-Schritt-Anleitung "
            "für die Integration mit {integration}."
        ),
        "howto.steps_area": (
            "Jemand aus unserem Team schickt Ihnen eine Schritt-für-Schritt-Anleitung für den Bereich {area}."
        ),
        "feature.named": (
            "Unser Produktteam prüft jeden Vorschlag, auch {feature}, "
            "einen Zeitplan kann ich Ihnen aber nicht zusagen."
        ),
        "feature.generic": (
            "Unser Produktteam prüft jeden Vorschlag wie diesen, "
            "einen Zeitplan kann ich Ihnen aber nicht zusagen."
        ),
        "feature.separate_error": (
            "Der Fehler {error} im Bereich {area} ist ein eigenes Problem, "
            "das sich unsere Entwickler ebenfalls ansehen."
        ),
        "feature.complaint": (
            "Das Problem, das Sie erwähnen, steht ebenfalls in diesem Ticket, "
            "sodass sich unsere Entwickler darum kümmern können."
        ),
        "feature.complaint_area": (
            "Das Problem im Bereich {area}, das Sie erwähnen, steht ebenfalls in diesem Ticket, "
            "sodass sich unsere Entwickler darum kümmern können."
        ),
        "other.read": (
            "Jemand aus unserem Team liest Ihre Nachricht und meldet sich, "
            "falls von unserer Seite etwas nötig ist."
        ),
        "closing.faq": "Falls das nicht hilft, antworten Sie einfach hier, und wir helfen Ihnen weiter.",
        "closing.updates": "Wir halten Sie hier auf dem Laufenden, sobald wir mehr wissen.",
        "closing.reply": "Wir melden uns hier, sobald wir uns das angesehen haben.",
        "greeting.plain": "Hallo,",
        "greeting.named": "Hallo {name},",
        "join.and": "und",
    },
    "fr": {
        "opener.churn": (
            "Nous sommes désolés de ne pas avoir été à la hauteur, "
            "et je comprends que vous hésitiez à rester chez nous."
        ),
        "opener.security": (
            "Merci de nous avoir prévenus si rapidement ; "
            "nous prenons très au sérieux tout risque d'accès non autorisé."
        ),
        "opener.again": (
            "Je suis désolé que cela se reproduise, et je comprends "
            "à quel point c'est pénible pour votre équipe."
        ),
        "opener.disruption": "Je suis désolé pour la gêne occasionnée.",
        "opener.disruption_team": "Je suis désolé pour la gêne occasionnée à votre équipe.",
        "opener.frustration": "Je suis désolé pour l'agacement que cela vous a causé.",
        "opener.kind": "Merci pour votre gentil message !",
        "opener.suggestion": "Merci d'avoir pris le temps de nous faire part de votre idée.",
        "opener.invoice": "Merci de nous avoir contactés au sujet de la facture {invoice}.",
        "opener.billing": "Merci de nous avoir contactés au sujet de votre facturation.",
        "opener.bug_area": "Merci de nous avoir signalé le problème dans la section {area}.",
        "opener.bug": "Merci de nous avoir signalé ce problème.",
        "opener.account": "Merci de nous avoir contactés au sujet de votre compte.",
        "opener.question": "Merci pour votre question.",
        "opener.plain": "Merci de nous avoir contactés.",
        "billing.invoice": (
            "Notre équipe de facturation va examiner la facture {invoices} "
            "et vous confirmer précisément ce qui a été facturé et pourquoi."
        ),
        "billing.invoices": (
            "Notre équipe de facturation va examiner les factures {invoices} "
            "et vous confirmer précisément ce qui a été facturé et pourquoi."
        ),
        "billing.invoice_amount": (
            "Notre équipe de facturation va examiner la facture {invoices} d'un montant de {amount} "
            "et vous confirmer précisément ce qui a été facturé et pourquoi."
        ),
        "billing.invoices_amount": (
            "Notre équipe de facturation va examiner les factures {invoices} ({amount}) "
            "et vous confirmer précisément ce qui a été facturé et pourquoi."
        ),
        "billing.charges": (
            "Notre équipe de facturation va examiner les prélèvements sur votre compte "
            "et vous confirmer ce qui s'est passé."
        ),
        "billing.ask_invoice": (
            "Si possible, répondez-nous avec le numéro de facture afin que nous retrouvions "
            "rapidement le prélèvement."
        ),
        "bug.high": "Nos ingénieurs traitent {details} en priorité et vont en rechercher la cause.",
        "bug.high_unspecified": (
            "Nos ingénieurs traitent ce problème en priorité et vont en rechercher la cause."
        ),
        "bug.look": "Nos ingénieurs vont examiner {details}.",
        "bug.look_unspecified": "Nos ingénieurs vont examiner ce problème.",
        "bug.ask_error": (
            "Si possible, envoyez-nous le message d'erreur exact et depuis quand il apparaît, "
            "cela nous aidera à trouver la cause plus vite."
        ),
        "details.error": "l'erreur {errors}",
        "details.errors": "les erreurs {errors}",
        "details.named": "l'erreur {errors}",
        "details.named_plural": "les erreurs {errors}",
        "details.on_area": "dans la section {area}",
        "details.problem_area": "le problème dans la section {area}",
        "details.problem": "le problème",
        "details.since": "(depuis {time})",
        "account.security_steps": (
            "Changez votre mot de passe dès maintenant et révoquez les clés API ou les sessions "
            "que vous ne reconnaissez pas."
        ),
        "account.security_review": (
            "Notre équipe passera en revue avec vous l'activité récente de votre compte."
        ),
        "account.access": (
            "Notre équipe chargée des comptes va vérifier votre "
            "accès et vous répondra ici avec la marche à suivre."
        ),
        "account.access_errors": (
            "Notre équipe chargée des comptes va vérifier votre accès (y compris les réponses {errors}) "
            "et vous répondra ici avec la marche à suivre."
        ),
        "howto.steps": "Un membre de notre équipe vous répondra avec des instructions étape par étape.",
        "howto.steps_integration": (
            "Un membre de notre équipe vous répondra avec des instructions étape par étape "
            "pour l'intégration {integration}."
        ),
        "howto.steps_area": (
            "Un membre de notre équipe vous répondra avec des instructions étape par étape "
            "pour la section {area}."
        ),
        "feature.named": (
            "Notre équipe produit étudie chaque suggestion, y compris l'ajout de {feature}, "
            "mais je ne peux pas vous promettre de délai."
        ),
        "feature.generic": (
            "Notre équipe produit étudie chaque suggestion comme celle-ci, "
            "mais je ne peux pas vous promettre de délai."
        ),
        "feature.separate_error": (
            "L'erreur {error} dans la section {area} est un problème distinct, "
            "que nos ingénieurs vont également examiner."
        ),
        "feature.complaint": (
            "Le problème que vous mentionnez figure aussi dans ce ticket, "
            "nos ingénieurs pourront donc l'examiner."
        ),
        "feature.complaint_area": (
            "Le problème que vous mentionnez dans la section {area} figure aussi dans ce ticket, "
            "nos ingénieurs pourront donc l'examiner."
        ),
        "other.read": (
            "Un membre de notre équipe lira votre message et vous répondra si quelque chose "
            "est nécessaire de notre part."
        ),
        "closing.faq": "Si cela ne suffit pas, répondez simplement ici et nous vous aiderons.",
        "closing.updates": "Nous vous donnerons des nouvelles ici dès que nous en saurons plus.",
        "closing.reply": "Nous vous répondrons ici dès que nous aurons examiné la question.",
        "greeting.plain": "Bonjour,",
        "greeting.named": "Bonjour {name},",
        "join.and": "et",
    },
    "es": {
        "opener.churn": (
            "Lamento que le hayamos fallado, y entiendo que esté pensando si seguir con nosotros."
        ),
        "opener.security": (
            "Gracias por avisarnos tan rápido; "
            "nos tomamos muy en serio cualquier posible acceso no autorizado."
        ),
        "opener.again": (
            "Lamento que esto haya vuelto a ocurrir, y entiendo lo mucho que afecta al trabajo de su equipo."
        ),
        "opener.disruption": "Lamento las molestias que esto le está causando.",
        "opener.disruption_team": "Lamento las molestias que esto le está causando a su equipo.",
        "opener.frustration": "Lamento la frustración que esto le ha causado.",
        "opener.kind": "¡Gracias por su amable mensaje!",
        "opener.suggestion": "Gracias por tomarse el tiempo de compartir esto con nosotros.",
        "opener.invoice": "Gracias por escribirnos sobre la factura {invoice}.",
        "opener.billing": "Gracias por escribirnos sobre su consulta de facturación.",
        "opener.bug_area": "Gracias por avisarnos del problema en la sección {area}.",
        "opener.bug": "Gracias por avisarnos del problema.",
        "opener.account": "Gracias por escribirnos sobre su cuenta.",
        "opener.question": "Gracias por su pregunta.",
        "opener.plain": "Gracias por escribirnos.",
        "billing.invoice": (
            "Nuestro equipo de facturación revisará la factura {invoices} "
            "y le confirmará exactamente qué se cobró y por qué."
        ),
        "billing.invoices": (
            "Nuestro equipo de facturación revisará las facturas {invoices} "
            "y le confirmará exactamente qué se cobró y por qué."
        ),
        "billing.invoice_amount": (
            "Nuestro equipo de facturación revisará la factura {invoices} por {amount} "
            "y le confirmará exactamente qué se cobró y por qué."
        ),
        "billing.invoices_amount": (
            "Nuestro equipo de facturación revisará las facturas {invoices} ({amount}) "
            "y le confirmará exactamente qué se cobró y por qué."
        ),
        "billing.charges": (
            "Nuestro equipo de facturación revisará los cargos de su cuenta y le confirmará qué ha pasado."
        ),
        "billing.ask_invoice": (
            "Si puede, responda con el número de factura para que encontremos el cargo rápidamente."
        ),
        "bug.high": "Nuestros ingenieros están tratando {details} como prioridad alta y lo investigarán.",
        "bug.high_unspecified": (
            "Nuestros ingenieros están tratando esto como prioridad alta y lo investigarán."
        ),
        "bug.look": "Nuestros ingenieros revisarán {details}.",
        "bug.look_unspecified": "Nuestros ingenieros revisarán este problema.",
        "bug.ask_error": (
            "Si puede, responda con el mensaje de error exacto y desde cuándo ocurre, "
            "así encontraremos la causa más rápido."
        ),
        "details.error": "el error {errors}",
        "details.errors": "los errores {errors}",
        "details.named": "el error {errors}",
        "details.named_plural": "los errores {errors}",
        "details.on_area": "en la sección {area}",
        "details.problem_area": "el problema en la sección {area}",
        "details.problem": "el problema",
        "details.since": "(desde las {time})",
        "account.security_steps": (
            "Cambie su contraseña y revoque cuanto antes las claves API o sesiones que no reconozca."
        ),
        "account.security_review": "Nuestro equipo revisará con usted la actividad reciente de su cuenta.",
        "account.access": (
            "Nuestro equipo de cuentas revisará su acceso y le responderá aquí con los próximos pasos."
        ),
        "account.access_errors": (
            "Nuestro equipo de cuentas revisará su acceso (incluidas las respuestas {errors}) "
            "y le responderá aquí con los próximos pasos."
        ),
        "howto.steps": "Un miembro de nuestro equipo le responderá con instrucciones paso a paso.",
        "howto.steps_integration": (
            "Un miembro de nuestro equipo le responderá con instrucciones paso a paso "
            "para la integración con {integration}."
        ),
        "howto.steps_area": (
            "Un miembro de nuestro equipo le responderá con instrucciones paso a paso para la sección {area}."
        ),
        "feature.named": (
            "Nuestro equipo de producto revisa cada sugerencia, incluida la de añadir {feature}, "
            "aunque no puedo prometerle un plazo."
        ),
        "feature.generic": (
            "Nuestro equipo de producto revisa cada sugerencia "
            "como esta, aunque no puedo prometerle un plazo."
        ),
        "feature.separate_error": (
            "El error {error} en la sección {area} es un problema aparte, "
            "y nuestros ingenieros también lo revisarán."
        ),
        "feature.complaint": (
            "El problema que menciona también queda recogido en este ticket, "
            "así que nuestros ingenieros podrán revisarlo."
        ),
        "feature.complaint_area": (
            "El problema que menciona en la sección {area} también queda recogido en este ticket, "
            "así que nuestros ingenieros podrán revisarlo."
        ),
        "other.read": (
            "Un miembro de nuestro equipo leerá su mensaje y le responderá si necesitamos hacer algo."
        ),
        "closing.faq": "Si con esto no se resuelve, responda aquí y le seguiremos ayudando.",
        "closing.updates": "Le daremos novedades aquí en cuanto sepamos más.",
        "closing.reply": "Le responderemos aquí en cuanto lo hayamos revisado.",
        "greeting.plain": "Hola,",
        "greeting.named": "Hola, {name}:",
        "join.and": "y",
    },
    "pt": {
        "opener.churn": (
            "Sinto muito por não termos correspondido às suas expectativas, "
            "e entendo que você esteja pensando se continua conosco."
        ),
        "opener.security": (
            "Obrigado por nos avisar tão rápido; "
            "levamos muito a sério qualquer possível acesso não autorizado."
        ),
        "opener.again": (
            "Sinto muito que isso tenha acontecido de novo, "
            "e entendo o quanto isso atrapalha o trabalho da sua equipe."
        ),
        "opener.disruption": "Sinto muito pelo transtorno que isso está causando.",
        "opener.disruption_team": "Sinto muito pelo transtorno que isso está causando à sua equipe.",
        "opener.frustration": "Sinto muito pela frustração que isso causou.",
        "opener.kind": "Obrigado pela sua mensagem tão gentil!",
        "opener.suggestion": "Obrigado por dedicar um tempo para compartilhar isso conosco.",
        "opener.invoice": "Obrigado por entrar em contato sobre a fatura {invoice}.",
        "opener.billing": "Obrigado por entrar em contato sobre a sua dúvida de cobrança.",
        "opener.bug_area": "Obrigado por nos avisar sobre o problema na área {area}.",
        "opener.bug": "Obrigado por nos avisar sobre o problema.",
        "opener.account": "Obrigado por entrar em contato sobre a sua conta.",
        "opener.question": "Obrigado pela sua pergunta.",
        "opener.plain": "Obrigado por entrar em contato.",
        "billing.invoice": (
            "Nossa equipe de cobrança vai analisar a fatura {invoices} "
            "e confirmar exatamente o que foi cobrado e por quê."
        ),
        "billing.invoices": (
            "Nossa equipe de cobrança vai analisar as faturas {invoices} "
            "e confirmar exatamente o que foi cobrado e por quê."
        ),
        "billing.invoice_amount": (
            "Nossa equipe de cobrança vai analisar a fatura {invoices} de {amount} "
            "e confirmar exatamente o que foi cobrado e por quê."
        ),
        "billing.invoices_amount": (
            "Nossa equipe de cobrança vai analisar as faturas {invoices} ({amount}) "
            "e confirmar exatamente o que foi cobrado e por quê."
        ),
        "billing.charges": (
            "Nossa equipe de cobrança vai analisar as cobranças na sua conta e confirmar o que aconteceu."
        ),
        "billing.ask_invoice": (
            "Se puder, responda com o número da fatura para encontrarmos a cobrança rapidamente."
        ),
        "bug.high": "Nossos engenheiros estão tratando {details} como alta prioridade e vão investigar.",
        "bug.high_unspecified": (
            "Nossos engenheiros estão tratando isso como alta prioridade e vão investigar."
        ),
        "bug.look": "Nossos engenheiros vão analisar {details}.",
        "bug.look_unspecified": "Nossos engenheiros vão analisar este problema.",
        "bug.ask_error": (
            "Se puder, responda com a mensagem de erro exata e desde quando ela aparece, "
            "o que nos ajuda a encontrar a causa mais rápido."
        ),
        "details.error": "o erro {errors}",
        "details.errors": "os erros {errors}",
        "details.named": "o erro {errors}",
        "details.named_plural": "os erros {errors}",
        "details.on_area": "na área {area}",
        "details.problem_area": "o problema na área {area}",
        "details.problem": "o problema",
        "details.since": "(desde {time})",
        "account.security_steps": (
            "Altere sua senha e revogue imediatamente as chaves de API ou sessões que você não reconhece."
        ),
        "account.security_review": "Nossa equipe vai revisar com você a atividade recente da sua conta.",
        "account.access": (
            "Nossa equipe de contas vai verificar o seu acesso e responder aqui com os próximos passos."
        ),
        "account.access_errors": (
            "Nossa equipe de contas vai verificar o seu acesso (incluindo as respostas {errors}) "
            "e responder aqui com os próximos passos."
        ),
        "howto.steps": "Alguém da nossa equipe vai responder com instruções passo a passo.",
        "howto.steps_integration": (
            "Alguém da nossa equipe vai responder com instruções passo a passo "
            "para a integração com {integration}."
        ),
        "howto.steps_area": (
            "Alguém da nossa equipe vai responder com instruções passo a passo para a área {area}."
        ),
        "feature.named": (
            "Nossa equipe de produto avalia todas as sugestões, incluindo adicionar {feature}, "
            "mas não posso prometer um prazo."
        ),
        "feature.generic": (
            "Nossa equipe de produto avalia todas as sugestões como esta, mas não posso prometer um prazo."
        ),
        "feature.separate_error": (
            "O erro {error} na área {area} é um problema à parte, e nossos engenheiros também vão analisá-lo."
        ),
        "feature.complaint": (
            "O problema que você menciona também está registrado neste ticket, "
            "então nossos engenheiros podem analisá-lo."
        ),
        "feature.complaint_area": (
            "O problema que você menciona na área {area} também está registrado neste ticket, "
            "então nossos engenheiros podem analisá-lo."
        ),
        "other.read": "Alguém da nossa equipe vai ler sua mensagem e responder se precisarmos fazer algo.",
        "closing.faq": "Se isso não resolver, é só responder aqui que ajudaremos você.",
        "closing.updates": "Daremos notícias aqui assim que soubermos mais.",
        "closing.reply": "Responderemos aqui assim que tivermos analisado o caso.",
        "greeting.plain": "Olá,",
        "greeting.named": "Olá, {name},",
        "join.and": "e",
    },
    "it": {
        "opener.churn": (
            "Mi dispiace non essere stati all'altezza, e capisco che stia valutando se restare con noi."
        ),
        "opener.security": (
            "Grazie per averci avvisato così rapidamente; "
            "prendiamo molto sul serio qualsiasi possibile accesso non autorizzato."
        ),
        "opener.again": (
            "Mi dispiace che sia successo di nuovo, e capisco quanto questo disturbi il lavoro del Suo team."
        ),
        "opener.disruption": "Mi dispiace per il disagio che questo Le sta causando.",
        "opener.disruption_team": "Mi dispiace per il disagio che questo sta causando al Suo team.",
        "opener.frustration": "Mi dispiace per la frustrazione che questo Le ha causato.",
        "opener.kind": "Grazie per il Suo gentile messaggio!",
        "opener.suggestion": "Grazie per aver dedicato del tempo a condividere questo con noi.",
        "opener.invoice": "Grazie per averci scritto riguardo alla fattura {invoice}.",
        "opener.billing": "Grazie per averci scritto riguardo alla Sua domanda sulla fatturazione.",
        "opener.bug_area": "Grazie per averci segnalato il problema nella sezione {area}.",
        "opener.bug": "Grazie per averci segnalato il problema.",
        "opener.account": "Grazie per averci scritto riguardo al Suo account.",
        "opener.question": "Grazie per la Sua domanda.",
        "opener.plain": "Grazie per averci scritto.",
        "billing.invoice": (
            "Il nostro team di fatturazione esaminerà la fattura {invoices} "
            "e Le confermerà esattamente cosa è stato addebitato e perché."
        ),
        "billing.invoices": (
            "Il nostro team di fatturazione esaminerà le fatture {invoices} "
            "e Le confermerà esattamente cosa è stato addebitato e perché."
        ),
        "billing.invoice_amount": (
            "Il nostro team di fatturazione esaminerà la fattura {invoices} di {amount} "
            "e Le confermerà esattamente cosa è stato addebitato e perché."
        ),
        "billing.invoices_amount": (
            "Il nostro team di fatturazione esaminerà le fatture {invoices} ({amount}) "
            "e Le confermerà esattamente cosa è stato addebitato e perché."
        ),
        "billing.charges": (
            "Il nostro team di fatturazione esaminerà gli addebiti sul Suo account "
            "e Le confermerà cosa è successo."
        ),
        "billing.ask_invoice": (
            "Se possibile, ci risponda con il numero della fattura, così troveremo subito l'addebito."
        ),
        "bug.high": (
            "I nostri tecnici stanno trattando {details} con priorità alta e ne cercheranno la causa."
        ),
        "bug.high_unspecified": (
            "I nostri tecnici stanno trattando la questione con priorità alta e ne cercheranno la causa."
        ),
        "bug.look": "I nostri tecnici esamineranno {details}.",
        "bug.look_unspecified": "I nostri tecnici esamineranno il problema.",
        "bug.ask_error": (
            "Se possibile, ci risponda con il messaggio di errore esatto e da quando si presenta, "
            "così troveremo la causa più in fretta."
        ),
        "details.error": "l'errore {errors}",
        "details.errors": "gli errori {errors}",
        "details.named": "l'errore {errors}",
        "details.named_plural": "gli errori {errors}",
        "details.on_area": "nella sezione {area}",
        "details.problem_area": "il problema nella sezione {area}",
        "details.problem": "il problema",
        "details.since": "(dalle {time})",
        "account.security_steps": (
            "Cambi subito la password e revochi le chiavi API o le sessioni che non riconosce."
        ),
        "account.security_review": "Il nostro team esaminerà con Lei l'attività recente del Suo account.",
        "account.access": (
            "Il nostro team account verificherà il Suo accesso e Le risponderà qui con i prossimi passi."
        ),
        "account.access_errors": (
            "Il nostro team account verificherà il Suo accesso (comprese le risposte {errors}) "
            "e Le risponderà qui con i prossimi passi."
        ),
        "howto.steps": "Un membro del nostro team Le risponderà con istruzioni passo passo.",
        "howto.steps_integration": (
            "Un membro del nostro team Le risponderà con istruzioni passo passo "
            "per l'integrazione con {integration}."
        ),
        "howto.steps_area": (
            "Un membro del nostro team Le risponderà con istruzioni passo passo per la sezione {area}."
        ),
        "feature.named": (
            "Il nostro team di prodotto valuta ogni suggerimento, compresa l'aggiunta di {feature}, "
            "ma non posso prometterLe una data."
        ),
        "feature.generic": (
            "Il nostro team di prodotto valuta ogni suggerimento "
            "come questo, ma non posso prometterLe una data."
        ),
        "feature.separate_error": (
            "L'errore {error} nella sezione {area} è un problema a parte, "
            "e i nostri tecnici esamineranno anche quello."
        ),
        "feature.complaint": (
            "Il problema che menziona è riportato anche in questo ticket, "
            "così i nostri tecnici potranno esaminarlo."
        ),
        "feature.complaint_area": (
            "Il problema che menziona nella sezione {area} è riportato anche in questo ticket, "
            "così i nostri tecnici potranno esaminarlo."
        ),
        "other.read": (
            "Un membro del nostro team leggerà il Suo messaggio e Le risponderà "
            "se serve qualcosa da parte nostra."
        ),
        "closing.faq": "Se questo non risolve, ci risponda qui e La aiuteremo ancora.",
        "closing.updates": "Le daremo aggiornamenti qui appena ne sapremo di più.",
        "closing.reply": "Le risponderemo qui appena avremo verificato.",
        "greeting.plain": "Buongiorno,",
        "greeting.named": "Buongiorno {name},",
        "join.and": "e",
    },
    "nl": {
        "opener.churn": (
            "Het spijt me dat we u hebben teleurgesteld, en ik begrijp dat u overweegt of u bij ons blijft."
        ),
        "opener.security": (
            "Bedankt dat u dit zo snel meldt; we nemen mogelijke onbevoegde toegang zeer serieus."
        ),
        "opener.again": (
            "Het spijt me dat dit opnieuw is gebeurd, en ik begrijp hoe hinderlijk dit is voor uw team."
        ),
        "opener.disruption": "Het spijt me dat dit zoveel overlast veroorzaakt.",
        "opener.disruption_team": "Het spijt me dat dit zoveel overlast veroorzaakt voor uw team.",
        "opener.frustration": "Het spijt me dat dit voor zoveel frustratie heeft gezorgd.",
        "opener.kind": "Bedankt voor uw vriendelijke bericht!",
        "opener.suggestion": "Bedankt dat u de tijd neemt om dit met ons te delen.",
        "opener.invoice": "Bedankt voor uw bericht over factuur {invoice}.",
        "opener.billing": "Bedankt voor uw vraag over de facturering.",
        "opener.bug_area": "Bedankt voor uw melding over het probleem in het onderdeel {area}.",
        "opener.bug": "Bedankt voor uw melding over het probleem.",
        "opener.account": "Bedankt voor uw bericht over uw account.",
        "opener.question": "Bedankt voor uw vraag.",
        "opener.plain": "Bedankt voor uw bericht.",
        "billing.invoice": (
            "Ons facturatieteam bekijkt factuur {invoices} en laat u precies weten "
            "wat er in rekening is gebracht en waarom."
        ),
        "billing.invoices": (
            "Ons facturatieteam bekijkt facturen {invoices} en laat u precies weten "
            "wat er in rekening is gebracht en waarom."
        ),
        "billing.invoice_amount": (
            "Ons facturatieteam bekijkt factuur {invoices} van {amount} en laat u precies weten "
            "wat er in rekening is gebracht en waarom."
        ),
        "billing.invoices_amount": (
            "Ons facturatieteam bekijkt facturen {invoices} ({amount}) en laat u precies weten "
            "wat er in rekening is gebracht en waarom."
        ),
        "billing.charges": (
            "Ons facturatieteam bekijkt de afschrijvingen op uw account en laat u weten wat er is gebeurd."
        ),
        "billing.ask_invoice": (
            "Stuur ons indien mogelijk het factuurnummer, zodat we de afschrijving snel kunnen vinden."
        ),
        "bug.high": "Onze engineers behandelen {details} met hoge prioriteit en zoeken de oorzaak uit.",
        "bug.high_unspecified": "Onze engineers behandelen dit met hoge prioriteit en zoeken de oorzaak uit.",
        "bug.look": "Onze engineers gaan {details} onderzoeken.",
        "bug.look_unspecified": "Onze engineers gaan dit probleem onderzoeken.",
        "bug.ask_error": (
            "Stuur ons indien mogelijk de exacte foutmelding en sinds wanneer die optreedt, "
            "zodat we de oorzaak sneller vinden."
        ),
        "details.error": "de fout {errors}",
        "details.errors": "de fouten {errors}",
        "details.named": "de fout {errors}",
        "details.named_plural": "de fouten {errors}",
        "details.on_area": "in het onderdeel {area}",
        "details.problem_area": "het probleem in het onderdeel {area}",
        "details.problem": "het probleem",
        "details.since": "(sinds {time})",
        "account.security_steps": (
            "Wijzig direct uw wachtwoord en trek API-sleutels of sessies in die u niet herkent."
        ),
        "account.security_review": "Ons team neemt de recente activiteit op uw account samen met u door.",
        "account.access": (
            "Ons accountteam bekijkt uw toegang en laat u hier weten wat de volgende stappen zijn."
        ),
        "account.access_errors": (
            "Ons accountteam bekijkt uw toegang (inclusief de meldingen {errors}) "
            "en laat u hier weten wat de volgende stappen zijn."
        ),
        "howto.steps": "Iemand van ons team stuurt u stapsgewijze instructies.",
        "howto.steps_integration": (
            "Iemand van ons team stuurt u stapsgewijze instructies voor de koppeling met {integration}."
        ),
        "howto.steps_area": (
            "Iemand van ons team stuurt u stapsgewijze instructies voor het onderdeel {area}."
        ),
        "feature.named": (
            "Ons productteam bekijkt elke suggestie, ook het toevoegen van {feature}, "
            "maar ik kan geen termijn beloven."
        ),
        "feature.generic": (
            "Ons productteam bekijkt elke suggestie zoals deze, maar ik kan geen termijn beloven."
        ),
        "feature.separate_error": (
            "De fout {error} in het onderdeel {area} is een apart probleem, "
            "en onze engineers kijken daar ook naar."
        ),
        "feature.complaint": (
            "Het probleem dat u noemt staat ook in dit ticket, zodat onze engineers ernaar kunnen kijken."
        ),
        "feature.complaint_area": (
            "Het probleem in het onderdeel {area} dat u noemt staat ook in dit ticket, "
            "zodat onze engineers ernaar kunnen kijken."
        ),
        "other.read": (
            "Iemand van ons team leest uw bericht en reageert als er iets van onze kant nodig is."
        ),
        "closing.faq": "Lost dit het niet op, reageer dan gewoon hier en we helpen u verder.",
        "closing.updates": "We houden u hier op de hoogte zodra we meer weten.",
        "closing.reply": "We reageren hier zodra we ernaar hebben gekeken.",
        "greeting.plain": "Hallo,",
        "greeting.named": "Hallo {name},",
        "join.and": "en",
    },
}

# English names of languages the detector may report that the drafter can't write in; any other
# code is "your language".
LANGUAGE_NAMES_EN = {
    "ar": "Arabic",
    "bg": "Bulgarian",
    "ca": "Catalan",
    "cs": "Czech",
    "da": "Danish",
    "el": "Greek",
    "et": "Estonian",
    "fa": "Persian",
    "fi": "Finnish",
    "he": "Hebrew",
    "hi": "Hindi",
    "hr": "Croatian",
    "hu": "Hungarian",
    "id": "Indonesian",
    "is": "Icelandic",
    "ja": "Japanese",
    "ko": "Korean",
    "lt": "Lithuanian",
    "lv": "Latvian",
    "ms": "Malay",
    "nb": "Norwegian",
    "nn": "Norwegian",
    "no": "Norwegian",
    "pl": "Polish",
    "ro": "Romanian",
    "ru": "Russian",
    "sk": "Slovak",
    "sl": "Slovenian",
    "sr": "Serbian",
    "sv": "Swedish",
    "th": "Thai",
    "tr": "Turkish",
    "uk": "Ukrainian",
    "vi": "Vietnamese",
    "zh": "Chinese",
}

# The first sentence of a reply to a ticket in a language the drafter can't write.
UNSUPPORTED_NOTICE = (
    "A colleague will answer you in {language}, as I can't write replies in {language} myself."
)
UNSUPPORTED_NOTICE_UNKNOWN = (
    "A colleague will answer you in your language, as I can't write replies in it myself."
)
UNSUPPORTED_DETAILS = "They will see the details you gave, including {details}."


def phrase(language: str, key: str, **values: str) -> str:
    """The sentence ``key`` in ``language`` (English for a language without a table), filled in."""
    table = PHRASES.get(language, PHRASES["en"])
    return table[key].format(**values)


def english_language_name(code: str) -> str:
    return LANGUAGE_NAMES_EN.get(code, "")
