; Every function definition (`def` and `async def`), for rules about signatures.
(function_definition) @function
