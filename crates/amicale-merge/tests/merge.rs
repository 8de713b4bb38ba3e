//! Behaviour of the merge engine as the application sees it.

use amicale_merge::catalogue::{self, FieldType};
use amicale_merge::{Engine, ErrorKind, Kind, Locale, MergeError, Trigger, jungo2, validate};
use serde_json::{Value as Json, json};

fn sample() -> Json {
    catalogue::sample_context(Locale::Fr)
}

fn render(source: &str, kind: Kind, locale: Locale, ctx: &Json) -> Result<String, MergeError> {
    Engine::new().render(source, kind, locale, ctx)
}

fn text(source: &str, ctx: &Json) -> String {
    match render(source, Kind::Text, Locale::Fr, ctx) {
        Ok(s) => s,
        Err(e) => panic!("{source}: {e}"),
    }
}

/// Converts a JUNGO2 template, insisting that every signet was known.
fn convert(source: &str) -> String {
    let c = jungo2::convert(source);
    assert!(c.unknown.is_empty(), "unknown signets: {:?}", c.unknown);
    c.output
}

// --- JUNGO2 guide examples ------------------------------------------------

#[test]
fn guide_p11_person_trigger_example() {
    let src = "Bonjour ${personne/personne_civilite}, ${personne/personne_nom}, je vous prie de trouver ci-joint votre attestation [...]";
    let out = convert(src);
    assert_eq!(
        out,
        "Bonjour {{ person.civility }}, {{ person.last_name }}, je vous prie de trouver ci-joint votre attestation [...]"
    );
    assert_eq!(validate(&out, Kind::Html, &[Trigger::Person]), Ok(()));
    assert_eq!(
        text(&out, &sample()),
        "Bonjour Mme, Dupré, je vous prie de trouver ci-joint votre attestation [...]"
    );
}

#[test]
fn guide_p11_event_trigger_examples() {
    let single = convert(
        "Bonjour, ${action_beneficiaire_personne/personne_civilite} ${action_beneficiaire_personne/personne_prenom}...",
    );
    assert_eq!(
        single,
        "Bonjour, {{ participant.civility }} {{ participant.first_name }}..."
    );
    assert_eq!(validate(&single, Kind::Html, &[Trigger::Event]), Ok(()));
    assert_eq!(text(&single, &sample()), "Bonjour, Mme Hélène...");

    let reminder = convert(
        "Bonjour, ${tableN.action_beneficiaire_personne/personne_civilite} ${tableN.action_beneficiaire_personne/personne_prenom}, nous vous rappelons votre rendez-vous le ${action_date# j F Y à H:i}...",
    );
    assert_eq!(
        reminder,
        "Bonjour, {{ participant.civility }} {{ participant.first_name }}, nous vous rappelons votre rendez-vous le {{ event.start | date(\"j F Y à H:i\") }}..."
    );
    assert_eq!(validate(&reminder, Kind::Html, &[Trigger::Event]), Ok(()));
    assert_eq!(
        text(&reminder, &sample()),
        "Bonjour, Mme Hélène, nous vous rappelons votre rendez-vous le 12 mars 2026 à 14:30..."
    );

    // The collective convocation uses the same per-participant signets:
    // each participant receives a copy addressed to them.
    let convocation = convert(
        "Bonjour, ${tableN.action_beneficiaire_personne/personne_civilite} ${tableN.action_beneficiaire_personne/personne_prenom},",
    );
    let engine = Engine::new();
    let compiled = engine.compile(&convocation, Kind::Text).unwrap();
    let mut ctx = sample();
    let mut greetings = Vec::new();
    for p in ctx["participants"].as_array().unwrap().clone() {
        ctx["participant"] = p;
        greetings.push(compiled.render(Locale::Fr, &ctx).unwrap());
    }
    assert_eq!(
        greetings,
        [
            "Bonjour, Mme Hélène,",
            "Bonjour, M. Karim,",
            "Bonjour, Mme Sophie,"
        ]
    );
}

fn reminder_context() -> Json {
    json!({
        "participant": {"civility": "Mme", "first_name": "Hélène", "last_name": "Dupré"},
        "event": {
            "start": "2026-03-12 14:30",
            "facilitator_first_name": "Paul",
            "facilitator_last_name": "Martin"
        }
    })
}

#[test]
fn guide_rappel_reunion_j1() {
    let src = "Bonjour ${tab.action_beneficiaire_personne/personne_civilite} ${tab.action_beneficiaire_personne/personne_prenom} ${tab.action_beneficiaire_personne/personne_nom}, Votre prochain rendez-vous téléphonique est programmé le ${action_date# l j F Y à H:i} avec ${action_animateur_intervenant/personne_prenom} ${action_animateur_intervenant/personne_nom}.";
    let out = convert(src);
    assert_eq!(validate(&out, Kind::Text, &[Trigger::Event]), Ok(()));
    assert_eq!(
        text(&out, &reminder_context()),
        "Bonjour Mme Hélène Dupré, Votre prochain rendez-vous téléphonique est programmé le jeudi 12 mars 2026 à 14:30 avec Paul Martin."
    );

    // The message as the guide shows it (HTML, several lines).
    let html = "<p>Bonjour ${tab.action_beneficiaire_personne/personne_civilite} ${tab.action_beneficiaire_personne/personne_prenom} ${tab.action_beneficiaire_personne/personne_nom},\n Votre prochain rendez-vous téléphonique est programmé le ${action_date# l j F Y à H:i}\n avec ${action_animateur_intervenant/personne_prenom} ${action_animateur_intervenant/personne_nom}.\n En cas d'empêchement, merci de nous tenir informé.\n Cordialement,\n Votre BGE</p>";
    let out = convert(html);
    assert_eq!(validate(&out, Kind::Html, &[Trigger::Event]), Ok(()));
    assert_eq!(
        render(&out, Kind::Html, Locale::Fr, &reminder_context()).unwrap(),
        "<p>Bonjour Mme Hélène Dupré,\n Votre prochain rendez-vous téléphonique est programmé le jeudi 12 mars 2026 à 14:30\n avec Paul Martin.\n En cas d'empêchement, merci de nous tenir informé.\n Cordialement,\n Votre BGE</p>"
    );
    // The same template in English.
    assert_eq!(
        render(&out, Kind::Html, Locale::En, &reminder_context()).unwrap(),
        "<p>Bonjour Mme Hélène Dupré,\n Votre prochain rendez-vous téléphonique est programmé le Thursday 12 March 2026 à 14:30\n avec Paul Martin.\n En cas d'empêchement, merci de nous tenir informé.\n Cordialement,\n Votre BGE</p>"
    );
}

#[test]
fn unknown_signet_is_reported_by_name_and_kept() {
    let src = "Bonjour ${personne/personne_prenom},\nvotre code : ${personne/personne_code_secret} et ${action_budget}\nfin ${personne/personne_nom";
    let c = jungo2::convert(src);
    let names: Vec<(&str, usize, usize)> = c
        .unknown
        .iter()
        .map(|u| (u.signet.as_str(), u.line, u.column))
        .collect();
    assert_eq!(
        names,
        [
            ("personne/personne_code_secret", 2, 14),
            ("action_budget", 2, 50),
            ("personne/personne_nom", 3, 5),
        ]
    );
    assert_eq!(
        c.output,
        "Bonjour {{ person.first_name }},\nvotre code : ${personne/personne_code_secret} et ${action_budget}\nfin ${personne/personne_nom"
    );
    // A date format on a field that is not a date is not silently dropped.
    let c = jungo2::convert("${personne/personne_nom# d/m/Y}");
    assert_eq!(c.unknown.len(), 1);
    assert_eq!(c.unknown[0].signet, "personne/personne_nom# d/m/Y");
}

#[test]
fn converter_escapes_literal_template_syntax() {
    let src = "{{ pas un champ }} {% if %} {# x #} {${personne/personne_nom}} {{{ et ${action_date#d/m/Y}{";
    let out = convert(src);
    assert_eq!(
        text(&out, &sample()),
        "{{ pas un champ }} {% if %} {# x #} {Dupré} {{{ et 12/03/2026{"
    );
    // Backslashes and quotes of a date format survive the string literal.
    let out = convert(r#"${action_date# H\hi "j"}"#);
    assert_eq!(text(&out, &sample()), "14h30 \"12\"");
    // Bare dates print the French way.
    assert_eq!(
        text(&convert("${action_date}"), &sample()),
        "12/03/2026 14:30"
    );
    assert_eq!(
        text(&convert("${personne/personne_date_naissance}"), &sample()),
        "04/05/1990"
    );
}

// --- escaping, undefined, limits -------------------------------------------

#[test]
fn html_kind_escapes_and_text_kind_does_not() {
    let ctx = json!({"person": {"first_name": "<b>Hélène</b> & \"Co\""}});
    let src = "Bonjour {{ person.first_name }} <i>!</i>";
    assert_eq!(
        render(src, Kind::Html, Locale::Fr, &ctx).unwrap(),
        "Bonjour &lt;b&gt;Hélène&lt;&#x2f;b&gt; &amp; &quot;Co&quot; <i>!</i>"
    );
    assert_eq!(
        render(src, Kind::Text, Locale::Fr, &ctx).unwrap(),
        "Bonjour <b>Hélène</b> & \"Co\" <i>!</i>"
    );
    // Filters' results are escaped too.
    assert_eq!(
        render(
            "{{ person.first_name | upper }}",
            Kind::Html,
            Locale::Fr,
            &ctx
        )
        .unwrap(),
        "&lt;B&gt;HÉLÈNE&lt;&#x2f;B&gt; &amp; &quot;CO&quot;"
    );
    // `safe` does not exist: a template cannot turn escaping off.
    assert!(validate("{{ person.first_name | safe }}", Kind::Html, &[]).is_err());
    assert!(
        render(
            "{{ person.first_name | safe }}",
            Kind::Html,
            Locale::Fr,
            &ctx
        )
        .is_err()
    );
    assert!(
        render(
            "{% autoescape false %}{{ person.first_name }}{% endautoescape %}",
            Kind::Html,
            Locale::Fr,
            &ctx
        )
        .is_err()
    );
}

#[test]
fn strict_undefined_names_the_field() {
    let err = render(
        "Bonjour\n  {{ person.nickname }}",
        Kind::Text,
        Locale::Fr,
        &sample(),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Render);
    assert!(err.message.contains("`person.nickname`"), "{err}");
    assert_eq!((err.line, err.column), (Some(2), Some(6)));

    // A catalogue field the application forgot to fill is named as well,
    // also when it goes through a filter.
    let ctx = json!({"person": {"first_name": "Hélène"}});
    let err = render("{{ person.mobile | phone }}", Kind::Text, Locale::Fr, &ctx).unwrap_err();
    assert!(err.message.contains("`person.mobile`"), "{err}");
    let err = render(
        "{{ event.start | date(\"long\") }}",
        Kind::Text,
        Locale::Fr,
        &ctx,
    )
    .unwrap_err();
    assert!(err.message.contains("`event.start`"), "{err}");
    assert_eq!(
        err.to_string(),
        format!("line 1, column 4: {}", err.message)
    );
}

#[test]
fn null_and_empty_optional_fields() {
    let ctx = json!({"person": {"mobile": null, "phone": "", "city": "Paris"}});
    assert_eq!(text("[{{ person.mobile }}]", &ctx), "[]");
    assert_eq!(text("[{{ person.mobile | default(\"—\") }}]", &ctx), "[—]");
    assert_eq!(text("[{{ person.phone | default(\"—\") }}]", &ctx), "[—]");
    assert_eq!(
        text("[{{ person.city | default(\"—\") }}]", &ctx),
        "[Paris]"
    );
    assert_eq!(
        text(
            "[{{ person.mobile | phone }}|{{ person.mobile | upper }}|{{ person.mobile | date }}]",
            &ctx
        ),
        "[||]"
    );
    assert_eq!(
        text("{% if person.mobile %}m{% else %}none{% endif %}", &ctx),
        "none"
    );
    // `default` also covers a field absent from the data.
    assert_eq!(
        text("[{{ person.country | default(\"France\") }}]", &ctx),
        "[France]"
    );
}

#[test]
fn fuel_stops_long_loops() {
    let err = render(
        "{% for i in range(1000) %}{% for j in range(1000) %}{% for k in range(1000) %}x{% endfor %}{% endfor %}{% endfor %}",
        Kind::Text,
        Locale::Fr,
        &json!({}),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Fuel, "{err}");
    assert!(err.message.contains("fuel"), "{err}");

    let err = render(
        "{% for i in range(100000000) %}x{% endfor %}",
        Kind::Text,
        Locale::Fr,
        &json!({}),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Fuel, "{err}");
    assert!(err.message.contains("range"), "{err}");

    // A tight engine stops a loop over real data that a default one renders.
    let mut ctx = sample();
    let one = ctx["participant"].clone();
    ctx["participants"] = Json::Array(vec![one; 200]);
    let src = "{% for p in participants %}{{ p.first_name }} {{ p.last_name }} {{ p.email }}\n{% endfor %}";
    let err = Engine::with_fuel(500)
        .render(src, Kind::Text, Locale::Fr, &ctx)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Fuel);
    assert_eq!(
        Engine::new()
            .render(src, Kind::Text, Locale::Fr, &ctx)
            .unwrap()
            .lines()
            .count(),
        200
    );
}

#[test]
fn output_is_capped() {
    // Ten copies of a 1 MB value: few instructions, 10 MB of output.
    let ctx = json!({"person": {"first_name": "x".repeat(1_000_000)}});
    let err = render(
        "{% for i in range(10) %}{{ person.first_name }}{% endfor %}",
        Kind::Text,
        Locale::Fr,
        &ctx,
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Fuel, "{err}");
    assert!(err.message.contains("larger than 4 MiB"), "{err}");
    assert_eq!(
        render(
            "{% for i in range(3) %}{{ person.first_name }}{% endfor %}",
            Kind::Text,
            Locale::Fr,
            &ctx
        )
        .unwrap()
        .len(),
        3_000_000
    );
}

#[test]
fn deep_recursion_and_growth_constructs_are_refused() {
    let deep = format!("{{{{ {}1{} }}}}", "(".repeat(2000), ")".repeat(2000));
    let err = render(&deep, Kind::Text, Locale::Fr, &json!({})).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Syntax, "{err}");

    for (src, what) in [
        (
            "{% for x in [[1]] recursive %}{{ loop(x) }}{% endfor %}",
            "recursive",
        ),
        ("{% set a = \"xx\" %}{% set a = a ~ a %}{{ a }}", "set"),
        ("{{ \"x\" * 100000000 }}", "`*`"),
        ("{{ person.first_name ~ person.first_name }}", "`~`"),
        ("{{ person.first_name + person.last_name }}", "`+`"),
        ("{% with a = 1 %}{{ a }}{% endwith %}", "with"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "macro"),
        ("{% include \"x\" %}", "include"),
    ] {
        let err = render(src, Kind::Text, Locale::Fr, &sample()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Syntax, "{src}: {err}");
        assert!(err.message.contains(what), "{src}: {err}");
        assert!(validate(src, Kind::Text, &[]).is_err());
    }
    // Arithmetic with a constant still works.
    assert_eq!(
        text(
            "{% for p in participants %}{{ loop.index + 1 }}{% endfor %}",
            &sample()
        ),
        "234"
    );
    // Joins are capped so nesting them cannot multiply memory.
    let err = render(
        "{{ range(1000) | join(range(1000) | join(range(1000) | join(\"xxxx\"))) }}",
        Kind::Text,
        Locale::Fr,
        &json!({}),
    )
    .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Render, "{err}");
}

// --- dates and filters -----------------------------------------------------

#[test]
fn every_php_date_letter_in_both_locales() {
    let ctx =
        json!({"event": {"start": "2026-03-12 14:30:05", "end": "2026-01-05T09:07:03+01:00"}});
    let fmt = "d|D|j|l|N|w|F|m|M|n|y|Y|H|G|h|g|i|s|a|A|S";
    let cases = [
        (
            Locale::Fr,
            "start",
            "12|jeu.|12|jeudi|4|4|mars|03|mars|3|26|2026|14|14|02|2|30|05|pm|PM|",
        ),
        (
            Locale::En,
            "start",
            "12|Thu|12|Thursday|4|4|March|03|Mar|3|26|2026|14|14|02|2|30|05|pm|PM|th",
        ),
        (
            Locale::Fr,
            "end",
            "05|lun.|5|lundi|1|1|janvier|01|janv.|1|26|2026|09|9|09|9|07|03|am|AM|",
        ),
        (
            Locale::En,
            "end",
            "05|Mon|5|Monday|1|1|January|01|Jan|1|26|2026|09|9|09|9|07|03|am|AM|th",
        ),
    ];
    for (locale, field, expected) in cases {
        let src = format!("{{{{ event.{field} | date(\"{fmt}\") }}}}");
        assert_eq!(
            render(&src, Kind::Text, locale, &ctx).unwrap(),
            expected,
            "{locale:?} {field}"
        );
    }
    // Sunday is 7 for N and 0 for w; midnight and noon in 12-hour form;
    // backslash escapes; the French ordinal for the first of the month.
    let ctx = json!({"event": {"start": "2026-03-01 00:05", "end": "2026-03-01 12:00"}});
    assert_eq!(
        render(
            r#"{{ event.start | date("N w h g A l jS F") }}"#,
            Kind::Text,
            Locale::Fr,
            &ctx
        )
        .unwrap(),
        "7 0 12 12 AM dimanche 1er mars"
    );
    assert_eq!(
        render(
            r#"{{ event.end | date("h g a \\h\\e\\u\\r\\e jS") }}"#,
            Kind::Text,
            Locale::En,
            &ctx
        )
        .unwrap(),
        "12 12 pm heure 1st"
    );
    for (day, suffix) in [
        ("02", "2nd"),
        ("03", "3rd"),
        ("11", "11th"),
        ("12", "12th"),
        ("13", "13th"),
        ("21", "21st"),
        ("22", "22nd"),
        ("23", "23rd"),
    ] {
        let ctx = json!({"event": {"start": format!("2026-03-{day}")}});
        assert_eq!(
            render(
                r#"{{ event.start | date("jS") }}"#,
                Kind::Text,
                Locale::En,
                &ctx
            )
            .unwrap(),
            suffix
        );
    }
    let ctx = json!({"event": {"start": "2026-12-31"}});
    let all_months: Vec<String> = (1..=12)
        .map(|m| {
            let ctx = json!({"event": {"start": format!("2026-{m:02}-15")}});
            render(
                r#"{{ event.start | date("F/M") }}"#,
                Kind::Text,
                Locale::Fr,
                &ctx,
            )
            .unwrap()
        })
        .collect();
    assert_eq!(
        all_months.join(" "),
        "janvier/janv. février/févr. mars/mars avril/avr. mai/mai juin/juin juillet/juil. août/août septembre/sept. octobre/oct. novembre/nov. décembre/déc."
    );
    assert_eq!(
        render(
            r#"{{ event.start | date("d/m/Y y") }}"#,
            Kind::Text,
            Locale::Fr,
            &ctx
        )
        .unwrap(),
        "31/12/2026 26"
    );
}

#[test]
fn named_date_formats() {
    let ctx = sample();
    let fr = |f: &str| text(&format!("{{{{ event.start | date(\"{f}\") }}}}"), &ctx);
    assert_eq!(fr("long"), "12 mars 2026");
    assert_eq!(fr("full"), "jeudi 12 mars 2026 à 14:30");
    assert_eq!(fr("short"), "12/03/2026");
    assert_eq!(fr("time"), "14:30");
    assert_eq!(fr("datetime"), "12/03/2026 14:30");
    assert_eq!(text("{{ event.start | date }}", &ctx), "12 mars 2026");
    assert_eq!(
        text("{{ person.birth_date | date(\"full\") }}", &ctx),
        "vendredi 4 mai 1990"
    );
    let en = |f: &str| {
        render(
            &format!("{{{{ event.start | date(\"{f}\") }}}}"),
            Kind::Text,
            Locale::En,
            &ctx,
        )
        .unwrap()
    };
    assert_eq!(en("long"), "12 March 2026");
    assert_eq!(en("full"), "Thursday 12 March 2026 at 14:30");
    // A value that is not a date is an error naming it.
    let err = render("{{ person.city | date }}", Kind::Text, Locale::Fr, &ctx).unwrap_err();
    assert!(err.message.contains("\"Paris\" is not a date"), "{err}");
}

#[test]
fn text_and_phone_filters() {
    let ctx = json!({"person": {"first_name": "hélène", "last_name": "dupré-martin", "mobile": "+33612345678", "phone": "0145678901", "email": "n/a"}});
    assert_eq!(
        text(
            "{{ person.first_name | upper }} {{ person.last_name | title }}",
            &ctx
        ),
        "HÉLÈNE Dupré-Martin"
    );
    assert_eq!(
        text(
            "{{ person.first_name | capitalize }} {{ \"ÉCOLE\" | lower }}",
            &ctx
        ),
        "Hélène école"
    );
    assert_eq!(
        text(
            "{{ person.mobile | phone }} / {{ person.phone | phone }} / {{ person.email | phone }}",
            &ctx
        ),
        "06 12 34 56 78 / 01 45 67 89 01 / n/a"
    );
    assert_eq!(
        text("{{ \"+14155552671\" | phone }}", &ctx),
        "+1 415 555 2671"
    );
}

// --- validation --------------------------------------------------------------

#[test]
fn validation_locates_unknown_field_on_line_3() {
    let src = "<p>Bonjour {{ person.first_name }},</p>\n<p>Votre promotion : {{ person.promo_year }}</p>\n<p>Ville : {{ person.town }} ({{ person.city }})</p>";
    let errors = validate(src, Kind::Html, &[Trigger::Person]).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = &errors[0];
    assert_eq!(e.kind, ErrorKind::UnknownField);
    assert_eq!((e.line, e.column), (Some(3), Some(15)));
    assert!(e.message.contains("`person.town`"), "{e}");
    assert_eq!(
        e.to_string(),
        "line 3, column 15: unknown field `person.town`"
    );
}

#[test]
fn validation_reports_syntax_errors_with_position() {
    let errors = validate("Bonjour\n{{ person.first_name }\n", Kind::Text, &[]).unwrap_err();
    assert_eq!(errors[0].kind, ErrorKind::Syntax);
    assert_eq!(errors[0].line, Some(2));
    assert!(errors[0].column.is_some());
    let errors = validate("{% if person.city %}\nx", Kind::Text, &[]).unwrap_err();
    assert_eq!(errors[0].kind, ErrorKind::Syntax);
    let errors = validate("a\n\n  {{ person.city | shout }}", Kind::Text, &[]).unwrap_err();
    assert_eq!(
        (errors[0].kind, errors[0].line, errors[0].column),
        (ErrorKind::Syntax, Some(3), Some(20))
    );
    assert!(errors[0].message.contains("`shout`"));
    let errors = validate("{{ person }} {{ prenom }} {{ lipsum() }}", Kind::Text, &[]).unwrap_err();
    let kinds: Vec<_> = errors.iter().map(|e| (e.kind, e.column)).collect();
    assert_eq!(
        kinds,
        [
            (ErrorKind::UnknownField, Some(4)),
            (ErrorKind::UnknownField, Some(17)),
            (ErrorKind::Syntax, Some(30)),
        ],
        "{errors:?}"
    );
}

#[test]
fn loops_over_participants_validate_their_fields() {
    let ok = "{% for p in participants %}{{ loop.index }}. {{ p.civility }} {{ p.first_name | upper }} {{ p.mobile | phone }}{% if p.confirmed %} ✓{% endif %}{{ loop.cycle(\",\", \";\") }}\n{% endfor %}";
    assert_eq!(validate(ok, Kind::Text, &[Trigger::Event]), Ok(()));
    assert_eq!(
        text(ok, &sample()),
        "1. Mme HÉLÈNE 06 12 34 56 78 ✓,\n2. M. KARIM 06 98 76 54 32 ✓;\n3. Mme SOPHIE 07 11 22 33 44 ✓,\n"
    );
    let filtered = "{% for p in participants | selectattr(\"confirmed\") if p.presence %}{{ p.last_name }}{% endfor %}{{ participants[0].first_name }}";
    assert_eq!(validate(filtered, Kind::Text, &[Trigger::Event]), Ok(()));

    let bad = "{% for p in participants %}\n  {{ p.nickname }}\n{% endfor %}\n{{ p.first_name }}";
    let errors = validate(bad, Kind::Text, &[Trigger::Event]).unwrap_err();
    let found: Vec<_> = errors.iter().map(|e| (e.kind, e.line, e.column)).collect();
    assert_eq!(
        found,
        [
            (ErrorKind::UnknownField, Some(2), Some(6)),
            (ErrorKind::UnknownField, Some(4), Some(4))
        ],
        "{errors:?}"
    );
    assert!(errors[0].message.contains("`p.nickname`"));
}

#[test]
fn wrong_trigger_is_refused_with_reason() {
    let src =
        "Bonjour {{ person.first_name }},\nrendez-vous le {{ event.start | date(\"full\") }}.";
    let errors = validate(src, Kind::Html, &[Trigger::Person]).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind, ErrorKind::WrongTrigger);
    assert_eq!((errors[0].line, errors[0].column), (Some(2), Some(19)));
    assert!(errors[0].message.contains("`event.start`"), "{}", errors[0]);
    assert!(errors[0].message.contains("an event"), "{}", errors[0]);

    // The person field is wrong for an event send in turn.
    let errors = validate(src, Kind::Html, &[Trigger::Event]).unwrap_err();
    assert_eq!(errors.len(), 1);
    assert!(errors[0].message.contains("`person.first_name`"));

    // A template offered for both may only use common fields.
    let common = "{{ network.name }} {{ sender.name }} {{ unsubscribe_url }} {{ org.name }}";
    assert_eq!(
        validate(common, Kind::Html, &[Trigger::Person, Trigger::Event]),
        Ok(())
    );
    let errors = validate(
        "{% for p in participants %}{{ p.first_name }}{% endfor %}",
        Kind::Html,
        &[Trigger::Person],
    )
    .unwrap_err();
    assert_eq!(errors[0].kind, ErrorKind::WrongTrigger);
    // Without triggers only existence is checked.
    assert_eq!(validate(src, Kind::Html, &[]), Ok(()));
}

// --- catalogue ---------------------------------------------------------------

#[test]
fn every_catalogue_field_is_in_the_sample_and_renders() {
    let required = [
        "person.civility",
        "person.first_name",
        "person.last_name",
        "person.email",
        "person.phone",
        "person.mobile",
        "person.address",
        "person.postal_code",
        "person.city",
        "person.country",
        "person.birth_date",
        "person.promo_year",
        "person.programme",
        "person.company",
        "person.job_title",
        "event.title",
        "event.type",
        "event.nature",
        "event.start",
        "event.end",
        "event.place",
        "event.address",
        "event.city",
        "event.video_link",
        "event.programme",
        "event.step",
        "event.facilitator_first_name",
        "event.facilitator_last_name",
        "event.facilitator_email",
        "participant.first_name",
        "participant.presence",
        "participant.confirmed",
        "participants",
        "org.name",
        "org.website",
        "org.city",
        "offer.title",
        "offer.reference",
        "offer.url",
        "network.name",
        "network.url",
        "network.contact_email",
        "sender.name",
        "sender.email",
        "unsubscribe_url",
    ];
    for path in required {
        assert!(
            catalogue::find(path).is_some(),
            "{path} missing from the catalogue"
        );
    }
    // participant has every person field.
    for f in catalogue::all().iter().filter(|f| f.namespace == "person") {
        assert!(catalogue::find(&format!("participant.{}", f.name)).is_some());
    }
    let engine = Engine::new();
    for locale in [Locale::Fr, Locale::En] {
        let ctx = catalogue::sample_context(locale);
        for field in catalogue::all() {
            let path = field.path();
            let value = if field.namespace.is_empty() {
                &ctx[field.name]
            } else {
                &ctx[field.namespace][field.name]
            };
            assert!(!value.is_null(), "{path} missing from the sample context");
            assert!(!field.fr.is_empty() && !field.en.is_empty() && !field.example.is_empty());
            let src = match field.ty {
                FieldType::List => {
                    "{% for p in participants %}{{ p.last_name }};{% endfor %}".to_owned()
                }
                FieldType::Date | FieldType::DateTime => {
                    format!("{{{{ {path} | date(\"full\") }}}}")
                }
                _ => format!("{{{{ {path} }}}}"),
            };
            assert_eq!(validate(&src, Kind::Html, field.triggers), Ok(()), "{path}");
            let out = engine.render(&src, Kind::Html, locale, &ctx).unwrap();
            assert!(!out.is_empty(), "{path}");
            if field.ty == FieldType::Text && locale == Locale::Fr {
                assert_eq!(out, field.example.replace('\'', "&#x27;"), "{path}");
            }
        }
    }
    let ctx = sample();
    assert_eq!(ctx["person"]["civility"], "Mme");
    assert_eq!(ctx["person"]["first_name"], "Hélène");
    assert_eq!(ctx["person"]["last_name"], "Dupré");
    assert_eq!(
        catalogue::sample_context(Locale::En)["person"]["civility"],
        "Ms"
    );
}

// --- API properties ----------------------------------------------------------

#[test]
fn engine_is_shareable_and_compiled_renders_many_times() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Engine>();
    assert_send_sync::<amicale_merge::Compiled<'static>>();

    let engine = Engine::new();
    let compiled = engine
        .compile(
            "{{ person.first_name }} — {{ event.start | date(\"l\") }}",
            Kind::Text,
        )
        .unwrap();
    let mut ctx = sample();
    std::thread::scope(|s| {
        let a = s.spawn(|| compiled.render(Locale::Fr, &sample()).unwrap());
        let b = s.spawn(|| compiled.render(Locale::En, &sample()).unwrap());
        assert_eq!(a.join().unwrap(), "Hélène — jeudi");
        assert_eq!(b.join().unwrap(), "Hélène — Thursday");
    });
    ctx["person"]["first_name"] = json!("Karim");
    assert_eq!(compiled.render(Locale::Fr, &ctx).unwrap(), "Karim — jeudi");
    // The fast path takes a minijinja value built without serde.
    let value = amicale_merge::Value::from_serialize(&ctx);
    assert_eq!(
        compiled.render_value(Locale::Fr, &value).unwrap(),
        "Karim — jeudi"
    );

    let err = engine
        .compile("{{ person.first_name ", Kind::Text)
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Syntax);
    assert_eq!(err.line, Some(1));
}

#[test]
fn undefined_fields_are_named_in_conditions_and_loops() {
    for (src, field) in [
        ("{% if person.nickname %}x{% endif %}", "person.nickname"),
        (
            "{% for x in person.hobbies %}{{ x }}{% endfor %}",
            "person.hobbies",
        ),
        (
            "{{ person.nickname | default(\"-\") | upper }}{{ event.place | upper }}",
            "event.place",
        ),
    ] {
        let ctx = json!({"person": {"first_name": "Hélène"}, "event": {}});
        let err = render(src, Kind::Html, Locale::Fr, &ctx).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Render, "{src}: {err}");
        assert!(err.message.contains(&format!("`{field}`")), "{src}: {err}");
    }
}

#[test]
fn yes_no_fields_print_as_words() {
    let ctx = sample();
    assert_eq!(text("{{ participant.confirmed }}", &ctx), "oui");
    assert_eq!(
        render(
            "{{ participant.confirmed }} {{ not participant.confirmed }}",
            Kind::Html,
            Locale::En,
            &ctx
        )
        .unwrap(),
        "yes no"
    );
}

#[test]
fn one_shot_renders_stay_correct_past_the_compiled_cache() {
    let engine = Engine::new();
    let ctx = sample();
    for round in 0..2 {
        for i in 0..100 {
            let src = format!("{i}:{{{{ person.first_name }}}}");
            assert_eq!(
                engine.render(&src, Kind::Text, Locale::Fr, &ctx).unwrap(),
                format!("{i}:Hélène"),
                "round {round}"
            );
        }
    }
    // Same source, other kind: escaping follows the kind, not the cache.
    let ctx = json!({"person": {"first_name": "<b>"}});
    let clone = engine.clone();
    assert_eq!(
        engine
            .render("{{ person.first_name }}", Kind::Html, Locale::Fr, &ctx)
            .unwrap(),
        "&lt;b&gt;"
    );
    assert_eq!(
        clone
            .render("{{ person.first_name }}", Kind::Text, Locale::Fr, &ctx)
            .unwrap(),
        "<b>"
    );
    assert_eq!(
        clone
            .render("{{ person.first_name }}", Kind::Html, Locale::Fr, &ctx)
            .unwrap(),
        "&lt;b&gt;"
    );
}

#[test]
fn trailing_newline_is_kept() {
    assert_eq!(
        text("Bonjour {{ person.first_name }}\n", &sample()),
        "Bonjour Hélène\n"
    );
}

#[test]
fn long_chains_do_not_overflow_the_stack() {
    const N: usize = 50_000;
    for src in [
        format!("{{{{ person{} }}}}", ".first_name".repeat(N)),
        format!("{{{{ 1{} }}}}", " - 1".repeat(N)),
        format!("{{{{ person.first_name{} }}}}", " | upper".repeat(N)),
        format!("{{{{ participants{} }}}}", "[0]".repeat(N)),
        format!("{{{{ {}1{} }}}}", "[".repeat(N), "]".repeat(N)),
        format!("{{{{ {}1 }}}}", "not ".repeat(N)),
        format!("{}x{}", "{% if 1 %}".repeat(N), "{% endif %}".repeat(N)),
        format!(
            "{}x{}",
            "{% for p in participants %}".repeat(N),
            "{% endfor %}".repeat(N)
        ),
    ] {
        let err = render(&src, Kind::Text, Locale::Fr, &sample()).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Syntax, "{err}");
        assert!(validate(&src, Kind::Text, &[]).is_err());
    }
    // As deep as the parser allows: refused or stopped, never a crash.
    for depth in [100, 140, 149] {
        let src = format!(
            "{}x{}",
            "{% for p in participants %}".repeat(depth),
            "{% endfor %}".repeat(depth)
        );
        let err = render(&src, Kind::Text, Locale::Fr, &sample()).unwrap_err();
        assert!(
            matches!(err.kind, ErrorKind::Fuel | ErrorKind::Syntax),
            "{err}"
        );
        let src = format!(
            "{}x{}",
            "{% if 1 %}".repeat(depth),
            "{% endif %}".repeat(depth)
        );
        let _ = render(&src, Kind::Text, Locale::Fr, &sample());
        let src = format!("{{{{ {}1{} }}}}", "(".repeat(depth), ")".repeat(depth));
        let _ = render(&src, Kind::Text, Locale::Fr, &sample());
    }
    // A long but legitimate tag is still fine.
    let src = format!("{{{{ person.first_name{} }}}}", " | upper".repeat(100));
    assert_eq!(text(&src, &sample()), "HÉLÈNE");
}
