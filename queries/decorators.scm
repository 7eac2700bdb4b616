; Every decorator. Decorator rules resolve its expression through the file's imports and look
; at the decorated definition.
(decorator) @decorator
