; Every `for` loop and every `for ... in` clause of a comprehension (plain or `async`, told
; apart in the engine by the anonymous `async` child).
[
  (for_statement)
  (for_in_clause)
] @for
