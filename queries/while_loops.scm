; Every `while` loop. Loop rules read its body.
(while_statement) @while
