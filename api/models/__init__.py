"""Request and response schemas, the API's contract as the OpenAPI document shows it: what
every capability shares (:mod:`.common`), then one module per capability."""
