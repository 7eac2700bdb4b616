; Every `except` and `except*` handler. The `*` is an anonymous child, checked in the engine;
; exception-group and handler rules read the caught types, the bound name and the body.
(except_clause) @except
