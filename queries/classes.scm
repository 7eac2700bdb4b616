; Every class definition with a base class list. Exception-group rules resolve its bases.
(class_definition
  superclasses: (argument_list)) @class
