; `yield from`, a SyntaxError inside an `async def`.
(yield
  "from") @yield_from
