; Every context manager of a plain (not `async`) `with` statement. The `async` keyword is an
; anonymous first child of `with_statement`, checked in the engine.
(with_statement
  (with_clause
    (with_item
      value: (_) @manager))) @with
