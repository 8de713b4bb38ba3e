//! The network's newsletter layout, written in MJML and compiled with mrml;
//! CSS is inlined so mail clients that drop `<style>` still show it.

use amicale_kernel::Locale;
use amicale_store::error::{AppError, AppResult};

fn escape_text(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Places a cleaned body into the layout. Merge tags pass through untouched
/// and are rendered per recipient afterwards.
pub fn newsletter(
    network: &str,
    subject: &str,
    body_html: &str,
    locale: Locale,
) -> AppResult<String> {
    let mjml = format!(
        r##"<mjml>
  <mj-head>
    <mj-title>{title}</mj-title>
    <mj-attributes><mj-all font-family="Arial, Helvetica, sans-serif" /></mj-attributes>
  </mj-head>
  <mj-body background-color="#f4f5f7" width="600px">
    <mj-section background-color="#1d4ed8" padding="16px 24px">
      <mj-column><mj-text color="#ffffff" font-size="20px" font-weight="bold">{network}</mj-text></mj-column>
    </mj-section>
    <mj-section background-color="#ffffff" padding="24px">
      <mj-column><mj-text font-size="15px" line-height="1.55" color="#1f2430">{body}</mj-text></mj-column>
    </mj-section>
    <mj-section padding="16px 24px">
      <mj-column><mj-text font-size="12px" color="#555555" align="center">{why}<br /><a href="{{{{ unsubscribe_url }}}}" style="color:#555555">{unsubscribe}</a></mj-text></mj-column>
    </mj-section>
  </mj-body>
</mjml>"##,
        title = escape_text(subject),
        network = escape_text(network),
        body = body_html,
        why = escape_text(&locale.t1("newsletter-footer", "network", network)),
        unsubscribe = escape_text(&locale.t("newsletter-unsubscribe")),
    );
    let parsed =
        mrml::parse(&mjml).map_err(|e| AppError::Internal(format!("newsletter layout: {e}")))?;
    let html = parsed
        .element
        .render(&mrml::prelude::render::RenderOptions::default())
        .map_err(|e| AppError::Internal(format!("newsletter layout: {e}")))?;
    css_inline::inline(&html).map_err(|e| AppError::Internal(format!("newsletter CSS: {e}")))
}
