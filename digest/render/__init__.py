"""Pure rendering: a Digest becomes its subject, its HTML and text parts and the exact message bytes (templates, text helpers, view models, CSS inlining, MIME, DKIM)."""
