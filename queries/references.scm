; Names and attribute chains that rules resolve through the file's imports, selected by their
; last identifier: `TimeoutError` and `timeout` (asyncio's and socket's aliases of the builtin
; `TimeoutError`).
((identifier) @reference
  (#any-of? @reference "TimeoutError" "timeout"))

(attribute
  attribute: (identifier) @_name
  (#any-of? @_name "TimeoutError" "timeout")) @reference
