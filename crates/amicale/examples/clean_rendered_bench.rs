//! What the last line of defence of issue 20 item 9 costs per message:
//! `sanitize::clean_rendered` on a typical rendered e-mail body (a few
//! paragraphs, a list, links), against rendering the body itself.
//!
//! `cargo run --release -p amicale --example clean_rendered_bench`
//! (a debug build gives the order of magnitude only).

use std::time::Instant;

use amicale::comms::templates::sanitize::clean_rendered;
use amicale_merge::{Engine, Kind, Locale};

fn main() {
    let paragraph = "<p>Bonjour {{ person.first_name }}, l'équipe du réseau vous invite à \
        notre <strong>rencontre annuelle</strong> à {{ person.city }} : \
        <a href=\"https://reseau.example/rencontre\">inscrivez-vous</a>.</p>";
    let source = format!(
        "{}<ul><li>Atelier CV</li><li>Table ronde</li><li>Cocktail</li></ul>{}",
        paragraph.repeat(4),
        paragraph.repeat(2)
    );
    let ctx = serde_json::json!({"person": {"first_name": "Hélène", "city": "Lyon"}});
    let engine = Engine::new();
    let rendered = engine
        .render(&source, Kind::Html, Locale::Fr, &ctx)
        .unwrap();
    let n = 20_000;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(
            engine
                .render(&source, Kind::Html, Locale::Fr, &ctx)
                .unwrap(),
        );
    }
    let render = t.elapsed() / n;
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(clean_rendered(std::hint::black_box(&rendered)));
    }
    let clean = t.elapsed() / n;
    println!(
        "body {} bytes: render {render:?}/message, clean_rendered {clean:?}/message \
         ({:.0} messages/s per core for the cleaning alone)",
        rendered.len(),
        1.0 / clean.as_secs_f64()
    );
}
