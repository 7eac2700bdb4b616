; Every `yield` expression (and `yield from`). Generator rules look at its ancestors.
(yield) @yield
