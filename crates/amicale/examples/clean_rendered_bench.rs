//! What the last line of defence of issue 20 item 9 costs per message:
//! `sanitize::clean_rendered` on a typical rendered e-mail body (a few
//! paragraphs, a list, links), against rendering the body itself.
//!
//! `cargo run --release -p amicale --example clean_rendered_bench`
//! (a debug build gives the order of magnitude only).

use std::time::Instant;

use amicale_delivery::templates::sanitize::{clean, clean_merged, clean_rendered};
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
    let cleaning = t.elapsed() / n;
    // What delivery does: the source as saved (cleaned), proven once, then
    // each message only looked up.
    let saved = clean(&source, false);
    let merged = engine.render(&saved, Kind::Html, Locale::Fr, &ctx).unwrap();
    let t = Instant::now();
    for _ in 0..n {
        std::hint::black_box(clean_merged(&saved, std::hint::black_box(merged.clone())));
    }
    let delivery = t.elapsed() / n;
    println!(
        "body {} bytes: render {render:?}/message, clean_rendered {cleaning:?}/message \
         ({:.0} messages/s per core for the cleaning alone), clean_merged of a saved \
         source {delivery:?}/message (copy of the body included)",
        rendered.len(),
        1.0 / cleaning.as_secs_f64()
    );
}
