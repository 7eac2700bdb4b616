; Syntax that needs an enclosing `async def`: `await`, `async for`, `async with` and async
; comprehensions. Await-outside-async reports it elsewhere; async-without-await counts it.
(await) @async_syntax

(for_statement
  "async") @async_syntax

(with_statement
  "async") @async_syntax

(for_in_clause
  "async") @async_syntax
