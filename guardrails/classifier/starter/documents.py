"""Ordinary documents: the benign long texts of the starter set, and the carriers that the
indirect-injection family hides its instructions in. The sentences deliberately use the
words naive detectors trip on (instructions, rules, ignore, previous, system, admin,
password, override) in their everyday meaning."""

from __future__ import annotations

import random
from typing import Any

from guardrails.classifier.starter.common import pick

DOC_LANGS = ("en", "de", "fr", "es", "it", "pt")

PEOPLE = [
    "Maria Rossi", "John Carter", "Lena Vogel", "Pierre Lambert", "Sofia García", "Tom Becker", "Ana Souza",
    "Kenji Sato", "Priya Nair", "Oliver Smith", "Chloé Martin", "Lucas Ferreira", "Giulia Bianchi", "Jan de Vries",
    "Fatima Khan", "Noah Williams", "Ines Moreau", "Marco Conti", "Eva Novak", "Samuel Okafor",
]  # fmt: skip
COMPANIES = [
    "Northwind",
    "Globex",
    "Initech",
    "Umbrella Logistics",
    "Blue Harbor",
    "Vandelay Imports",
    "Stark Components",
    "Helios Energy",
]

_EMAIL_SENTENCES: dict[str, list[str]] = {
    "en": [
        "Thanks for the quick turnaround on the quarterly figures.", "Please ignore my previous email; I attached the wrong invoice.",
        "The instructions for the new expense tool are in the shared drive under Finance/Guides.", "Could you send me the updated system diagram before Thursday?",
        "The previous version of the contract had an error in clause 4, which legal has now fixed.", "Our admin team will reset the shared password on Monday morning.",
        "Let's stick to the rules we agreed on last quarter for approving travel.", "I have overridden the default shipping option for the Berlin order, as the client requested.",
        "Forget the slides for now, we'll present from the spreadsheet.", "The system will be down for maintenance between 10 pm and 2 am on Saturday.",
        "Could you follow up with the supplier about the delayed pallets?", "I reviewed the draft and left a few comments in the margin.",
        "We need sign-off from procurement before we can place the order.", "The client asked us to disregard the earlier quote and use the revised one.",
        "Attached are the onboarding instructions for the two new hires.", "Please make sure the prompt payment discount is applied to invoice 2291.",
        "The new policy replaces all previous guidelines on remote work.", "As discussed above, the budget depends on the hiring plan.",
        "I'm out of office next week; Maria will cover for me.", "Let me know if anything in the proposal is unclear.",
        "The warehouse team asked us to follow the new labelling rules from June.", "Can you double-check the totals in row 14 of the report?",
        "The audit found no issues with the access rights of the admin accounts.", "Please keep the customer's details confidential, as usual.",
        "Our IT department recommends changing your password every ninety days.", "I spoke to the vendor and they will honour the original price.",
        "We decided to skip the optional training module this year.", "The figures above include VAT unless stated otherwise.",
        "Reminder: the deadline for submitting timesheets is Friday at noon.", "The kickoff meeting moved to room 3.14 on the second floor.",
        "Feel free to ignore the automated reminder if you already paid.", "The new assistant manager starts on the first of the month.",
    ],
    "de": [
        "Vielen Dank für die schnelle Rückmeldung zu den Quartalszahlen.", "Bitte ignorieren Sie meine vorherige E-Mail, der Anhang war falsch.",
        "Die Anleitung für das neue Reisekostentool liegt im gemeinsamen Laufwerk.", "Könnten Sie mir das aktualisierte Systemdiagramm bis Donnerstag schicken?",
        "Die vorherige Version des Vertrags enthielt einen Fehler in Paragraf 4.", "Das Admin-Team setzt am Montag das gemeinsame Passwort zurück.",
        "Wir halten uns an die Regeln, die wir im letzten Quartal vereinbart haben.", "Das System ist am Samstag zwischen 22 und 2 Uhr wegen Wartung nicht erreichbar.",
        "Die neue Richtlinie ersetzt alle bisherigen Vorgaben zum mobilen Arbeiten.", "Bitte beachten Sie die Hinweise zur Installation im Anhang.",
        "Ich bin nächste Woche nicht im Büro, Frau Vogel vertritt mich.", "Die Zahlen oben verstehen sich zuzüglich Mehrwertsteuer.",
        "Der Kunde bittet uns, das frühere Angebot zu vergessen und das neue zu verwenden.", "Können Sie die Summen in Zeile 14 noch einmal prüfen?",
    ],
    "fr": [
        "Merci pour le retour rapide sur les chiffres du trimestre.", "Merci d'ignorer mon e-mail précédent, la pièce jointe n'était pas la bonne.",
        "Les instructions pour le nouvel outil de notes de frais sont sur le drive partagé.", "Pourriez-vous m'envoyer le schéma du système mis à jour avant jeudi ?",
        "La version précédente du contrat contenait une erreur à l'article 4.", "L'équipe admin réinitialisera le mot de passe partagé lundi.",
        "Nous gardons les règles convenues au dernier trimestre pour les déplacements.", "Le système sera indisponible samedi entre 22 h et 2 h pour maintenance.",
        "La nouvelle politique remplace toutes les consignes précédentes sur le télétravail.", "Je serai absent la semaine prochaine, Chloé me remplace.",
        "Le client nous demande d'oublier l'ancien devis et d'utiliser le nouveau.", "Pouvez-vous vérifier les totaux de la ligne 14 ?",
    ],
    "es": [
        "Gracias por la rápida respuesta sobre las cifras del trimestre.", "Por favor, ignora mi correo anterior; adjunté la factura equivocada.",
        "Las instrucciones de la nueva herramienta de gastos están en la carpeta compartida.", "¿Podrías enviarme el diagrama del sistema actualizado antes del jueves?",
        "La versión anterior del contrato tenía un error en la cláusula 4.", "El equipo de administración restablecerá la contraseña compartida el lunes.",
        "Mantenemos las reglas acordadas el trimestre pasado para los viajes.", "El sistema no estará disponible el sábado entre las 22 y las 2 por mantenimiento.",
        "La nueva política sustituye todas las directrices anteriores sobre teletrabajo.", "La semana que viene estaré fuera; Sofía me sustituye.",
        "El cliente nos pide que olvidemos el presupuesto anterior y usemos el nuevo.", "¿Puedes revisar los totales de la fila 14?",
    ],
    "it": [
        "Grazie per il rapido riscontro sui numeri del trimestre.", "Per favore ignora la mia email precedente, l'allegato era sbagliato.",
        "Le istruzioni per il nuovo strumento delle note spese sono nella cartella condivisa.", "Potresti inviarmi lo schema del sistema aggiornato entro giovedì?",
        "La versione precedente del contratto conteneva un errore all'articolo 4.", "Il team admin reimposterà la password condivisa lunedì.",
        "La nuova policy sostituisce tutte le regole precedenti sul lavoro da remoto.", "Il sistema non sarà disponibile sabato tra le 22 e le 2 per manutenzione.",
        "Il cliente ci chiede di dimenticare il preventivo precedente e usare quello nuovo.",
    ],
    "pt": [
        "Obrigado pelo retorno rápido sobre os números do trimestre.", "Por favor, ignore meu e-mail anterior; anexei a fatura errada.",
        "As instruções da nova ferramenta de despesas estão na pasta compartilhada.", "Você pode me enviar o diagrama do sistema atualizado até quinta?",
        "A versão anterior do contrato tinha um erro na cláusula 4.", "A equipe de administração vai redefinir a senha compartilhada na segunda.",
        "A nova política substitui todas as orientações anteriores sobre trabalho remoto.", "O sistema ficará fora do ar no sábado entre 22h e 2h para manutenção.",
        "O cliente pediu para esquecermos o orçamento anterior e usarmos o novo.",
    ],
}  # fmt: skip

_GREETING = {
    "en": "Hi {n},",
    "de": "Hallo {n},",
    "fr": "Bonjour {n},",
    "es": "Hola {n}:",
    "it": "Ciao {n},",
    "pt": "Olá {n},",
}
_CLOSING = {
    "en": "Best regards,",
    "de": "Viele Grüße,",
    "fr": "Cordialement,",
    "es": "Un saludo,",
    "it": "Cordiali saluti,",
    "pt": "Atenciosamente,",
}
_SUBJECT = {
    "en": [
        "Re: Q3 figures",
        "Invoice 2291",
        "Travel policy update",
        "Project kickoff",
        "Supplier delay",
        "Onboarding",
        "Fwd: contract draft",
    ],
    "de": ["AW: Quartalszahlen", "Rechnung 2291", "Neue Reiserichtlinie", "Projektstart"],
    "fr": ["RE : chiffres T3", "Facture 2291", "Nouvelle politique de déplacement", "Lancement du projet"],
    "es": ["RE: cifras T3", "Factura 2291", "Nueva política de viajes", "Inicio del proyecto"],
    "it": ["R: numeri Q3", "Fattura 2291", "Nuova policy viaggi"],
    "pt": ["RE: números T3", "Fatura 2291", "Nova política de viagens"],
}


def business_email(rng: random.Random, lang: str = "en", *, sentences: tuple[int, int] = (4, 10)) -> str:
    sender, recipient = rng.sample(PEOPLE, 2)
    pool = _EMAIL_SENTENCES[lang]
    body = " ".join(rng.sample(pool, min(len(pool), rng.randint(*sentences))))
    paragraphs = body.split(". ")
    split = max(1, len(paragraphs) // 2)
    text_body = ". ".join(paragraphs[:split]) + ".\n\n" + ". ".join(paragraphs[split:])
    return (
        f"From: {sender} <{sender.split()[0].lower()}@{pick(rng, COMPANIES).lower().replace(' ', '')}.example>\n"
        f"To: {recipient}\nSubject: {pick(rng, _SUBJECT[lang])}\n\n"
        f"{_GREETING[lang].replace('{n}', recipient.split()[0])}\n\n{text_body.strip()}\n\n{_CLOSING[lang]}\n{sender}"
    )


_WEB_PARAGRAPHS = [
    "Our store offers free shipping on orders over 50 euros. Returns are accepted within 30 days of delivery.",
    "The Alpine Explorer backpack has a 45-litre main compartment, a hydration sleeve and adjustable shoulder straps.",
    "Follow these instructions to assemble the desk: attach the legs to the frame, then fix the top with the eight screws provided.",
    "Frequently asked questions: How do I reset my password? Click 'Forgot password' on the login page and follow the steps in the email.",
    "Our opening hours are Monday to Friday, 9 am to 6 pm. On public holidays the shop is closed.",
    "The previous model had a smaller battery; the new version lasts up to 14 hours on a single charge.",
    "Customer rules for the loyalty programme: points expire after 24 months and cannot be exchanged for cash.",
    "Cookies help us improve the website. You can change your preferences at any time in the settings.",
    "To override the default language, select a different one in the top right corner of the page.",
    "The recipe serves four. Preheat the oven to 180 °C and ignore the timer if the crust is already golden.",
    "Our support team will never ask you for your password by email or phone.",
    "System requirements: Windows 10 or later, 8 GB of RAM and 2 GB of free disk space.",
]


def web_page(rng: random.Random, lang: str = "en") -> str:
    title = pick(
        rng, ["Alpine Explorer 45L", "Standing desk – assembly", "Help centre", "About our shop", "Lemon tart recipe"]
    )
    paragraphs = rng.sample(_WEB_PARAGRAPHS, rng.randint(3, 6))
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return f"<html><head><title>{title}</title></head>\n<body>\n<h1>{title}</h1>\n{body}\n<footer>© 2024 {pick(rng, COMPANIES)}</footer>\n</body></html>"


_REVIEWS = [
    "I bought this blender for smoothies and it works great, although it is a bit loud.",
    "Delivery took longer than expected, but the seller kept me informed.",
    "The instructions were confusing, so I watched a video instead. Works fine now.",
    "Battery life is excellent. I charge it once a week.",
    "The previous version broke after a year; this one feels sturdier.",
    "Customer service replaced the faulty part without any fuss.",
    "Not worth the price in my opinion. The app keeps logging me out.",
    "Good value for money. The colour is slightly darker than in the pictures.",
]


def product_review(rng: random.Random, lang: str = "en") -> str:
    stars = rng.randint(1, 5)
    body = " ".join(rng.sample(_REVIEWS, rng.randint(2, 5)))
    return f"Review by {pick(rng, PEOPLE)} — {stars}/5 stars\n{body}\nWas this review helpful? Yes (12) No (3)"


def resume(rng: random.Random, lang: str = "en") -> str:
    name = pick(rng, PEOPLE)
    return (
        f"{name}\nSenior Software Engineer\n\nExperience\n"
        f"- {pick(rng, COMPANIES)} (2019–2024): led the migration of the billing system to PostgreSQL; mentored four engineers.\n"
        f"- {pick(rng, COMPANIES)} (2015–2019): built internal admin tools in Django; reduced report generation time by 60%.\n\n"
        "Skills\nPython, Go, SQL, Kubernetes, system design, incident response\n\n"
        "Education\nMSc Computer Science, 2015\n\nLanguages\nEnglish (fluent), German (B2), Spanish (basic)"
    )


def meeting_notes(rng: random.Random, lang: str = "en") -> str:
    items = [
        "Decision: we keep the previous release schedule until the security review is done.",
        "Action: Tom to update the onboarding instructions for the support team.",
        "The admin console needs a second approval step for deleting customer accounts.",
        "Agreed to ignore the flaky nightly test until the fix lands.",
        "Legal reminded everyone of the rules for storing personal data.",
        "Next steps: migrate the reporting system and retire the old dashboards.",
        "Open question: who owns the password rotation for service accounts?",
        "Budget for Q4 approved with a 5% buffer.",
    ]
    chosen = rng.sample(items, rng.randint(3, 7))
    attendees = ", ".join(rng.sample(PEOPLE, 4))
    return "Meeting notes — weekly sync\nAttendees: " + attendees + "\n\n" + "\n".join(f"* {i}" for i in chosen)


def insert(rng: random.Random, body: str, line: str) -> str:
    """Put ``line`` at a random line break of ``body`` (never first, so the document leads)."""
    lines = body.split("\n")
    at = rng.randint(1, len(lines))
    return "\n".join([*lines[:at], line, *lines[at:]])


def search_query(rng: random.Random) -> str:
    return pick(
        rng,
        [
            "best hiking boots 2024",
            "how to renew passport",
            "python list comprehension",
            "cheap flights lisbon",
            "symptoms of flu",
        ],
    )


def search_result(rng: random.Random) -> dict[str, str]:
    return {
        "title": pick(rng, ["Buyer's guide", "Official site", "Forum thread", "How-to article", "Wikipedia"]),
        "url": f"https://{pick(rng, ['example.com', 'example.org', 'docs.example.net'])}/{rng.randint(100, 999)}",
        "snippet": pick(rng, _WEB_PARAGRAPHS + _REVIEWS),
    }


def crm_record(rng: random.Random) -> dict[str, Any]:
    name = pick(rng, PEOPLE)
    return {
        "id": rng.randint(10_000, 99_999),
        "name": name,
        "company": pick(rng, COMPANIES),
        "email": f"{name.split()[0].lower()}@example.com",
        "plan": pick(rng, ["free", "pro", "enterprise"]),
        "last_order": f"2024-0{rng.randint(1, 9)}-{rng.randint(10, 28)}",
        "notes": pick(rng, ["Prefers email contact.", "Asked about volume discounts.", "Renewal due next month."]),
    }


def log_lines(rng: random.Random, count: int) -> list[str]:
    messages = [
        "INFO request completed status=200 duration_ms=42",
        "INFO user login succeeded user_id=4411",
        "WARN retrying upstream call attempt=2",
        "INFO cache hit ratio=0.93",
        "ERROR payment gateway timeout order=77120",
        "INFO scheduled job finished job=nightly-report",
        "DEBUG config reloaded source=/etc/app/config.yaml",
        "WARN password expires in 5 days for service account svc-backup",
        "INFO admin changed setting override_timezone=true",
    ]
    return [f"2024-05-02T10:{rng.randint(10, 59)}:{rng.randint(10, 59)}Z {pick(rng, messages)}" for _ in range(count)]


def calendar_event(rng: random.Random) -> dict[str, Any]:
    return {
        "title": pick(rng, ["Quarterly review", "1:1", "Vendor call", "Team lunch", "Release planning"]),
        "start": f"2024-06-{rng.randint(10, 28)}T{rng.randint(9, 16)}:00:00",
        "attendees": [p.split()[0].lower() + "@example.com" for p in rng.sample(PEOPLE, 3)],
        "description": pick(rng, ["Agenda in the shared doc.", "Bring the updated figures.", "Dial-in details below."]),
    }


_CODE = [
    'import os\n\n\ndef load_settings():\n    """Read settings from the environment."""\n    debug = os.environ.get("DEBUG", "0") == "1"\n    return {"debug": debug, "admin_email": os.environ["ADMIN_EMAIL"]}\n',
    "def build_system_prompt(user):\n    rules = [\n        'Answer politely.',\n        'Never share account numbers.',\n    ]\n    return '\\n'.join(rules) + f'\\nUser: {user.name}'\n",
    "SELECT id, email, created_at\nFROM customers\nWHERE deleted_at IS NULL\nORDER BY created_at DESC\nLIMIT 50;\n",
    "#!/usr/bin/env bash\nset -euo pipefail\n# clean the previous build before packaging\nrm -rf build/ dist/\npython -m build\n",
    "const express = require('express');\nconst app = express();\n\n// ignore favicon requests\napp.get('/favicon.ico', (req, res) => res.status(204).end());\napp.listen(3000);\n",
    "class Cache:\n    def __init__(self, ttl=60):\n        self.ttl = ttl\n        self._items = {}\n\n    def get(self, key):\n        # ignore expired entries\n        item = self._items.get(key)\n        return None if item is None else item[0]\n",
    "# .gitignore\n__pycache__/\n*.pyc\n.env\nvar/\nnode_modules/\n",
    "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n        - name: web\n          image: registry.example.com/web:1.4.2\n",
    "func (s *Server) Override(cfg Config) {\n\t// override the defaults only when a value is set\n\tif cfg.Port != 0 {\n\t\ts.port = cfg.Port\n\t}\n}\n",
    "public class PasswordPolicy {\n    // previous rules required 8 characters; now 12\n    static final int MIN_LENGTH = 12;\n}\n",
]


def code_snippet(rng: random.Random) -> str:
    return pick(rng, _CODE)
