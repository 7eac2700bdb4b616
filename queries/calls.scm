; Every call whose callee is a name or an attribute chain. Blocking-call rules resolve the
; callee through the file's imports; method rules ask for the receiver's type.
(call
  function: [
    (identifier)
    (attribute)
  ] @callee
  arguments: (_) @arguments) @call
