"""Pure rendering: a Digest becomes its subject, HTML and text parts and exact message bytes.

Templates, text helpers, view models, CSS inlining, MIME body and headers, DKIM, and the stdlib
reference builder the tests compare against. No database and no Service here.
"""
