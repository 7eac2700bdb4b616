; Every `except` clause (not `except*`). Cancellation and error rules read the caught types,
; the handler body and the `try` statement around it.
(except_clause) @except
