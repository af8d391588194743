"""Features that describe *instruction-like structure*, not vocabulary.

A prompt injection is text that talks to the model about the model: it tells it to drop what
it was told, names its instructions or system prompt, gives it a new identity, fakes a chat
turn or a system message, asks it to send data somewhere or to call a tool, and asks it to
keep that from the user. Each family below is a handful of patterns in eight languages,
matched with RE2 on the folded text (NFKC, lower case, accents stripped, look-alikes and
leetspeak undone), and each gives one feature: how many times it matched in the window, capped at
three and scaled to [0, 1]. Nothing here grows with length or rewards rare words, so a long
ordinary document does not look more suspicious than a short one.

The families are versioned with the feature extractor (`STRUCTURE_VERSION`): an artifact
records the version it was trained with, and a model is never scored with other families
than the ones it learned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import re2

STRUCTURE_VERSION = 1
_CAP = 3

# Words in the folded view: lower case, accents stripped ("é" -> "e", "ß" -> "ss").
_W = r"[a-z0-9'_-]+"
# Up to N words in between, lazily (a bounded repetition: linear time on any input).
_GAP = r"(?:\W+" + _W + r"){0,%d}?\W+"


def _gap(words: int) -> str:
    return _GAP % words


def _alt(*options: str) -> str:
    return "(?:" + "|".join(options) + ")"


# --- the vocabulary the families share ----------------------------------------------------------

_DROP_VERBS = _alt(
    # en
    r"ignore",
    r"ignoring",
    r"disregard",
    r"forget",
    r"override",
    r"overwrite",
    r"bypass",
    r"skip",
    r"overlook",
    r"discard",
    r"abandon",
    r"drop",
    r"set aside",
    r"throw out",
    r"pay no attention to",
    r"do not follow",
    r"don'?t follow",
    r"stop following",
    r"no longer follow",
    r"never mind",
    # de
    r"ignorier\w*",
    r"vergiss",
    r"vergessen sie",
    r"missachte\w*",
    r"uberschreib\w*",
    r"verwirf",
    r"befolge nicht",
    r"nicht mehr befolgen",
    # fr
    r"ignore[rz]?",
    r"oublie[rz]?",
    r"oubliez",
    r"neglige[rz]?",
    r"ne (?:suis|suivez) (?:plus|pas)",
    r"fais abstraction de",
    r"faites abstraction de",
    # es
    r"ignora",
    r"ignore",
    r"ignorar",
    r"olvida\w*",
    r"olvide",
    r"descarta",
    r"omite",
    r"no sigas",
    r"deja de seguir",
    # it
    r"dimentica\w*",
    r"ignori",
    r"trascura",
    r"non seguire",
    # pt
    r"esqueca\w*",
    r"desconsidere",
    r"descarte",
    r"nao siga",
    # nl
    r"negeer",
    r"vergeet",
    r"volg niet",
)

_INSTRUCTION_NOUNS = _alt(
    r"instructions?",
    r"prompts?",
    r"directives?",
    r"guidelines?",
    r"rules",
    r"programming",
    r"orders",
    r"commands",
    r"constraints",
    r"restrictions",
    r"guardrails",
    r"policies",
    r"training",
    r"system message",
    r"everything",
    r"anweisung(?:en)?",
    r"instruktion(?:en)?",
    r"regeln",
    r"vorgaben",
    r"richtlinien",
    r"befehle",
    r"alles",
    r"consignes?",
    r"regles",
    r"directives",
    r"tout",
    r"instrucciones",
    r"instruccion",
    r"reglas",
    r"directrices",
    r"todo",
    r"istruzioni",
    r"regole",
    r"direttive",
    r"tutto",
    r"instrucoes",
    r"instrucao",
    r"regras",
    r"diretrizes",
    r"tudo",
    r"instructies",
    r"regels",
    r"alles",
)

_PRIOR = _alt(
    r"previous",
    r"prior",
    r"above",
    r"preceding",
    r"earlier",
    r"former",
    r"original",
    r"initial",
    r"all",
    r"your",
    r"any",
    r"every",
    r"vorherige\w*",
    r"bisherige\w*",
    r"obige\w*",
    r"alle\w*",
    r"deine\w*",
    r"ihre\w*",
    r"precedent\w*",
    r"anterieur\w*",
    r"tou\w*",
    r"tes",
    r"vos",
    r"anterior\w*",
    r"previa\w*",
    r"todas?",
    r"tus",
    r"sus",
    r"precedent\w*",
    r"tutt[ei]",
    r"tue",
    r"suas?",
    r"anteriores",
    r"vorige",
    r"eerdere",
)

_SYSTEM_PROMPT = _alt(
    r"system ?prompts?",
    r"system messages?",
    r"system instructions?",
    r"initial (?:prompt|instructions?)",
    r"original (?:prompt|instructions?)",
    r"hidden (?:prompt|instructions?|rules)",
    r"secret (?:prompt|instructions?|rules)",
    r"pre-?prompt",
    r"meta ?prompt",
    r"developer (?:message|prompt|instructions?)",
    r"your (?:instructions|rules|guidelines|prompt|programming|configuration)",
    r"(?:the )?text above",
    r"everything above",
    r"words above",
    r"systemanweisung\w*",
    r"anfangsanweisung\w*",
    r"deine (?:anweisungen|regeln|vorgaben)",
    r"prompt (?:systeme|initial|d'origine)",
    r"instructions (?:initiales|systeme|d'origine|cachees)",
    r"tes (?:instructions|consignes|regles)",
    r"vos (?:instructions|consignes|regles)",
    r"prompt del sistema",
    r"mensaje del sistema",
    r"instrucciones (?:iniciales|del sistema|originales|ocultas)",
    r"tus (?:instrucciones|reglas)",
    r"prompt di sistema",
    r"istruzioni (?:iniziali|di sistema|originali|nascoste)",
    r"le tue (?:istruzioni|regole)",
    r"prompt do sistema",
    r"instrucoes (?:iniciais|do sistema|originais|ocultas)",
    r"suas (?:instrucoes|regras)",
    r"systeemprompt",
    r"je (?:instructies|regels)",
)

_REVEAL = _alt(
    r"reveal",
    r"print",
    r"show",
    r"output",
    r"repeat",
    r"display",
    r"leak",
    r"dump",
    r"recite",
    r"spell out",
    r"write out",
    r"copy",
    r"paste",
    r"tell me",
    r"share",
    r"disclose",
    r"translate",
    r"summari[sz]e",
    r"what (?:is|are|was|were)",
    r"zeig\w*",
    r"gib\w*",
    r"wiederhol\w*",
    r"verrat\w*",
    r"nenne\w*",
    r"schreib\w*",
    r"affiche\w*",
    r"revele\w*",
    r"repete\w*",
    r"montre\w*",
    r"donne\w*",
    r"ecri\w*",
    r"dis-moi",
    r"quelles? (?:sont|est)",
    r"muestra\w*",
    r"revela\w*",
    r"repite\w*",
    r"dime",
    r"escrib\w*",
    r"cuales? (?:son|es)",
    r"mostra\w*",
    r"rivela\w*",
    r"ripeti\w*",
    r"dimmi",
    r"scrivi\w*",
    r"quali sono",
    r"mostre",
    r"revele",
    r"repita",
    r"diga",
    r"escreva",
    r"quais sao",
    r"toon",
    r"herhaal",
    r"laat zien",
)


def _options() -> Any:
    options = re2.Options()
    options.log_errors = False
    options.max_mem = 64 << 20
    return options


@dataclass(frozen=True, slots=True)
class Family:
    name: str
    pattern: Any  # a compiled re2 pattern


def _family(name: str, *patterns: str) -> Family:
    # RE2: linear time whatever the text, and about ten times faster than `re` on these
    # alternations (each family is one DFA pass over the window).
    return Family(name, re2.compile("|".join(f"(?:{p})" for p in patterns), _options()))


FAMILIES: tuple[Family, ...] = (
    _family(
        "drop_prior_instructions",
        rf"\b{_DROP_VERBS}{_gap(3)}{_PRIOR}{_gap(3)}{_INSTRUCTION_NOUNS}\b",
        rf"\b{_DROP_VERBS}\W+{_INSTRUCTION_NOUNS}\b",
        rf"\b{_DROP_VERBS}{_gap(2)}(?:above|before|so far|up to now|oben|davor|bisher|ci-dessus|avant|arriba"
        r"|antes|sopra|prima|acima|hierboven)\b",
        r"\b(?:instead of|rather than|statt|au lieu de|en lugar de|invece di|em vez de) "
        r"(?:following|doing|answering|befolgen|suivre|seguir|eseguire)\b",
    ),
    _family(
        "names_instructions",
        rf"\b{_SYSTEM_PROMPT}\b",
        rf"\b{_PRIOR}{_gap(1)}{_INSTRUCTION_NOUNS}\b",
    ),
    _family(
        "reveal_instructions",
        rf"\b{_REVEAL}{_gap(5)}{_SYSTEM_PROMPT}\b",
        r"\b(?:verbatim|word for word|wortwortlich|wort fur wort|mot pour mot|palabra por palabra"
        r"|parola per parola|palavra por palavra|letterlijk)\b",
        r"\b(?:starting|beginning) with (?:the words )?[\"']?you are\b",
        r"\bwhat (?:were|are) you (?:told|instructed|programmed)\b",
        r"\b(?:in|into) a (?:code ?block|markdown block)\b",
    ),
    _family(
        "new_identity",
        r"\byou are (?:now|no longer|from now on|henceforth|going to be|about to)\b",
        r"\bfrom now on\b",
        r"\b(?:pretend|imagine|act|behave|respond|roleplay|role-play) (?:to be|you are|as if|as|like)\b",
        r"\b(?:stay|remain|staying) in (?:character|role)\b",
        r"\bnew (?:persona|identity|role|personality)\b",
        r"\bdu bist (?:jetzt|nun|ab sofort|ab jetzt|nicht mehr)\b",
        r"\bab (?:jetzt|sofort|nun)\b",
        r"\b(?:tu es|vous etes) (?:maintenant|desormais|a present)\b",
        r"\b(?:a partir de maintenant|desormais|dorenavant)\b",
        r"\b(?:fais|faites) comme si\b",
        r"\b(?:ahora eres|ahora sos|a partir de ahora|desde ahora|finge ser|haz como si)\b",
        r"\b(?:ora sei|adesso sei|d'ora in poi|da ora in poi|fingi di essere|fai finta)\b",
        r"\b(?:agora voce e|agora es|a partir de agora|de agora em diante|finja ser|finja que)\b",
        r"\b(?:je bent nu|vanaf nu|doe alsof)\b",
    ),
    _family(
        "no_restrictions",
        r"\b(?:no|without|free of|free from|zero|any) (?:\w+ ){0,2}(?:restrictions|limits|limitations|filters|rules"
        r"|guidelines|censorship|ethics|morals|boundaries|safeguards|guardrails)\b",
        r"\b(?:unrestricted|unfiltered|uncensored|unlimited|unbound|unchained|amoral|jailbr[eo]\w*)\b",
        r"\b(?:as|called|named|you are|become|mode:?) (?:dan|stan|dude|aim|kevin|dev|omega)\b",
        r"\b(?:developer|god|debug|admin|sudo|maintenance) mode\b",
        r"\bdo anything now\b",
        r"\b(?:ohne|keine) (?:\w+ )?(?:einschrankungen|regeln|filter|grenzen|zensur)\b",
        r"\b(?:sans|aucune?) (?:\w+ )?(?:restrictions?|limites?|filtres?|regles|censure)\b",
        r"\b(?:sin|ninguna?) (?:\w+ )?(?:restricciones|limites|filtros|reglas|censura)\b",
        r"\b(?:senza|nessuna?) (?:\w+ )?(?:restrizioni|limiti|filtri|regole|censura)\b",
        r"\b(?:sem|nenhuma?) (?:\w+ )?(?:restricoes|limites|filtros|regras|censura)\b",
    ),
    _family(
        "refusal_suppression",
        r"\b(?:never|do not|don'?t|must not|cannot|can'?t|will not|won'?t) (?:ever )?(?:refuse|decline|say no"
        r"|apologi[sz]e|warn|add (?:a |any )?(?:warnings?|disclaimers?))\b",
        r"\b(?:without|no) (?:any )?(?:warnings?|disclaimers?|caveats|moraliz\w+|lectures?)\b",
        r"\bnot allowed to (?:refuse|say no)\b",
        r"\b(?:niemals|nie) (?:ablehnen|verweigern)\b",
        r"\bne (?:refuse|refusez) jamais\b",
        r"\bnunca (?:te niegues|rechaces|digas que no)\b",
        r"\bnon rifiutare mai\b",
        r"\bnunca (?:recuse|se recuse)\b",
    ),
    _family(
        "new_task",
        r"\b(?:new|real|true|actual|next|only|updated) "
        r"(?:task|instructions?|goal|objective|mission|assignment|orders?)\b",
        r"\b(?:instead|now|just|only|simply)[,:]? (?:say|write|print|output|respond|reply|answer|type|repeat|tell)\b",
        r"\b(?:say|print|output|write|respond with|reply with|answer with) (?:only|exactly|just)\b",
        r"\bneue (?:aufgabe|anweisung\w*|anweisungen|mission)\b",
        r"\bnouvelles? (?:taches?|instructions?|consignes?|mission)\b",
        r"\bnuevas? (?:tareas?|instrucciones|instruccion|mision)\b",
        r"\bnuov[oia] (?:compito|istruzion[ei]|missione)\b",
        r"\bnovas? (?:tarefas?|instrucoes|instrucao|missao)\b",
        r"\bnieuwe (?:taak|instructies|opdracht)\b",
    ),
    _family(
        "fake_turn_markup",
        r"<\|?\s*/?\s*(?:im_start|im_end|system|assistant|user|endoftext|eot_id|start_header_id)\b",
        r"\[/?(?:inst|sys|system|assistant|user)\]",
        r"<</?sys>>",
        r"</?(?:system|instructions?|admin|developer|user_input|context|prompt)>",
        r"(?:^|\n)\s*(?:#{2,}|={3,}|-{3,}|\*{3,})\s*(?:system|instructions?|admin|developer|end|new|assistant|override)\b",
        r"\"role\"\s*:\s*\"(?:system|developer|assistant)\"",
        r"(?:^|\n)\s*(?:system|assistant|developer|admin)\s*:\s",
        r"\b(?:end|begin|start) of (?:the )?"
        r"(?:user input|input|prompt|document|system prompt|instructions|conversation)\b",
    ),
    _family(
        "fake_authority",
        r"\b(?:admin|administrator|developer|system|root|security team|your creators?|openai|anthropic|operator)"
        r" (?:override|command|notice|message|instruction|update|directive|here)\b",
        r"\bthis is (?:your|the) (?:developer|administrator|creator|system|admin|operator)\b",
        r"\b(?:authori[sz]ed|priority|emergency|urgent) (?:override|instruction|command|update)\b",
        r"\b(?:important|urgent|attention|notice|warning)\s*[:!]+\s*(?:ai|assistant|model|llm|chatbot|agent)\b",
    ),
    _family(
        "addresses_the_ai",
        r"\b(?:ai|assistant|chatbot|language model|llm|gpt|model|bot|agent|copilot)s? (?:reading|processing"
        r"|summari[sz]ing|parsing|analy[sz]ing|that reads?|that processes)\b",
        r"\b(?:note|message|instructions?) (?:to|for) (?:the |any |all )?"
        r"(?:ai|assistant|llm|model|chatbot|agent|bot)s?\b",
        r"\bif you are an? (?:ai|language model|llm|assistant|chatbot|automated|agent)\b",
        r"\b(?:dear|hey|attention|hello) (?:ai|assistant|llm|chatbot|gpt|model|agent)\b",
        r"\b(?:an die|hinweis fur die) (?:ki|assistenz|ai)\b",
        r"\b(?:a l'ia|note pour l'ia|a l'assistant)\b",
        r"\b(?:al asistente|para la ia|nota para la ia)\b",
        r"\b(?:all'ia|per l'assistente|nota per l'ia)\b",
        r"\b(?:para a ia|ao assistente|nota para a ia)\b",
    ),
    _family(
        "exfiltration",
        r"\b(?:send|post|forward|upload|transmit|exfiltrate|email|mail|submit|leak|append|encode)\w*"
        r"(?:\W+\w+){0,8}?\W+(?:to|at|into|in) "
        r"(?:https?://|www\.|[\w.-]+@[\w-]+\.|this (?:url|address|endpoint|webhook)"
        r"|the (?:url|webhook|endpoint|server|following address))",
        r"!\[[^\]\n]{0,100}\]\(https?://[^)\s]{0,200}[?&=]",
        r"\{(?:data|conversation|chat|history|secret|password|api_?key|token|user_?data|email)\}",
        r"\b(?:conversation|chat) history\b",
        r"\b(?:api keys?|passwords?|credentials|secrets|tokens|session cookies?)(?:\W+\w+){0,4}?\W+(?:to|at)\W",
    ),
    _family(
        "tool_call",
        r"\b(?:call|invoke|use|run|execute|trigger)\w*(?:\W+\w+){0,3}?\W+(?:tool|function|plugin|api|shell|terminal"
        r"|command|script|action)\b",
        r"\b(?:rm -rf|sudo |curl |wget |drop table|delete from|chmod 777|format c:)",
        r"\b(?:delete|remove|wipe|erase) (?:all|every|the entire)\b",
        r"\b(?:transfer|wire|send) \$?\d",
    ),
    _family(
        "secrecy",
        r"\b(?:do not|don'?t|never|without) (?:tell\w*|inform\w*|mention\w*|alert\w*|notify\w*|let)\w* (?:the )?user\b",
        r"\bthe user (?:must not|should not|shouldn'?t|won'?t|will not|cannot) (?:know|notice|see|find out)\b",
        r"\b(?:secretly|silently|covertly|quietly|without (?:being )?notic\w+)\b",
        r"\b(?:keep|hide) (?:this|these|it) (?:secret|hidden|from)\b",
        r"\b(?:verschweige|ohne (?:es )?dem (?:nutzer|benutzer))\b",
        r"\bsans (?:le dire|informer|prevenir) (?:a )?l'utilisateur\b",
        r"\bsin (?:decirle|informar) al usuario\b",
        r"\bsenza (?:dirlo|informare) (?:all')?utente\b",
        r"\bsem (?:contar|informar) (?:ao )?usuario\b",
    ),
    _family(
        "encoding_trick",
        r"\b(?:base64|base 64|rot13|rot-13|hex(?:adecimal)?[- ]encoded|morse|reversed? (?:text|string|order)"
        r"|caesar cipher|leetspeak|pig latin)\b",
        r"\bdecode (?:this|the following|and (?:follow|execute|run|do))\b",
        r"\b[a-z0-9+/]{20,}={1,2}",
    ),
    _family(
        "obedience",
        r"\byou (?:must|will|shall|have to|are required to|need to) (?:now )?(?:obey|comply|follow (?:my|these|the new)"
        r"|answer (?:every|all|any)|do (?:whatever|anything|everything))\b",
        r"\byou (?:are|have been) (?:freed|liberated|released|unlocked|reprogrammed|updated)\b",
        r"\b(?:confirm|acknowledge) (?:by saying|with|that you)\b",
        r"\bdu (?:musst|wirst) (?:mir )?(?:gehorchen|alles)\b",
        r"\btu (?:dois|vas) (?:m')?obeir\b",
        r"\b(?:debes|tienes que) obedecer\b",
        r"\bdevi obbedire\b",
        r"\bvoce deve obedecer\b",
    ),
    _family(
        "fiction_frame",
        r"\b(?:hypothetical(?:ly)?|in a fictional (?:world|story|universe|scenario)|imagine (?:a world|that you)"
        r"|let'?s play a game|in this game|for a (?:novel|story|movie|screenplay) where)\b",
        r"\b(?:my|a) (?:dead|deceased|late) (?:grandmother|grandma|grandfather)\b",
        r"\b(?:opposite|evil|dark|shadow|alter) (?:mode|twin|version|ego|ai)\b",
        r"\b(?:two|2|both) (?:responses|answers|ways)\b",
    ),
    _family(
        "prompt_words",
        r"\b(?:prompt|instructions?|system|rules|guidelines|anweisungen|consignes|instrucciones|istruzioni|instrucoes)\b",
    ),
    _family(
        "prior_reference",
        r"\b(?:above|previous(?:ly)?|prior|preceding|earlier|so far|before this|vorher\w*|bisher\w*|oben"
        r"|ci-dessus|precedent\w*|anterior\w*|precedente|acima|hierboven)\b",
    ),
    _family(
        "second_person_command",
        r"(?:^|[.!?\n]\s*)(?:you|du|tu|vous|usted|voce|jij|u) (?:must|will|should|shall|are|musst|wirst|dois|devez"
        r"|debes|devi|deve|moet)\b",
        r"(?:^|[.!?\n]\s*)(?:now|then|next|jetzt|nun|maintenant|ahora|ora|agora|nu)[, ]+(?:\w+ ){0,1}"
        r"(?:say|write|print|tell|output|respond|sag\w*|schreib\w*|dis|ecris|di|escribe|scrivi|diga|escreva|zeg)\b",
    ),
)

NAMES: tuple[str, ...] = tuple(family.name for family in FAMILIES)


def structure_counts(folded: str) -> list[float]:
    """One value per family, in `FAMILIES` order: min(matches, 3) / 3."""
    values: list[float] = []
    for family in FAMILIES:
        count = 0
        for _ in family.pattern.finditer(folded):
            count += 1
            if count >= _CAP:
                break
        values.append(count / _CAP)
    return values
