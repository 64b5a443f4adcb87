//! Writes an [`AssociatedProcedureDescription`] as XML in the order of the TS 26.346 schema.

use super::{AssociatedProcedureDescription, NAMESPACE};

impl AssociatedProcedureDescription {
    /// The document, UTF-8, with an XML declaration. `randomTimePeriod`, which the schema
    /// requires, is written as 0 when the description has none.
    pub fn to_xml(&self) -> String {
        let mut out = String::with_capacity(256);
        out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        out.push_str("<associatedProcedureDescription xmlns=\"");
        out.push_str(NAMESPACE);
        out.push_str("\">\n");
        if let Some(repair) = &self.post_file_repair {
            out.push_str("<postFileRepair");
            if let Some(offset) = repair.offset_time_s {
                out.push_str(&format!(" offsetTime=\"{offset}\""));
            }
            let window = repair.random_time_period_s.unwrap_or(0);
            out.push_str(&format!(" randomTimePeriod=\"{window}\">\n"));
            for uri in &repair.server_uris {
                out.push_str("<serverURI>");
                escape_text(&mut out, uri);
                out.push_str("</serverURI>\n");
            }
            out.push_str("</postFileRepair>\n");
        }
        out.push_str("</associatedProcedureDescription>\n");
        out
    }
}

/// Escapes the XML special characters, and CR, which end-of-line handling would otherwise
/// turn into LF when the text is read back.
fn escape_text(buf: &mut String, value: &str) {
    for c in quick_xml::escape::escape(value).chars() {
        match c {
            '\r' => buf.push_str("&#13;"),
            c => buf.push(c),
        }
    }
}
