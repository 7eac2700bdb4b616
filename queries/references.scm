; Names and attribute chains that rules resolve through the file's imports, selected by their
; last identifier: `TimeoutError` (asyncio's alias of the builtin since Python 3.11).
((identifier) @reference
  (#eq? @reference "TimeoutError"))

(attribute
  attribute: (identifier) @_name
  (#eq? @_name "TimeoutError")) @reference
