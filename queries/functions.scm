; Every function definition, sync or async. Test and generator rules read its decorators (the
; parent `decorated_definition`), its `async` keyword and its name.
(function_definition) @function
