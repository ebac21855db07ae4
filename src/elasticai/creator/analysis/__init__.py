"""What a design costs, from the graph alone: cycles (``timing``) and resources
(``estimate``). Generic drivers: they walk the graph and ask each op."""
