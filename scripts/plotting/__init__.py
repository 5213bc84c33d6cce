"""The figures of an attnbench sweep report, drawn with matplotlib.

``scripts/plot.py`` is the command, and its docstring says which figures it
writes; this package is how it draws them, one concern per module:

``report``      reads the CSV (any schema version) and the environment JSON
``sweep``       organises the cases into panels (patterns) and series (lines)
``roofs``       the roofline's roofs and points, and whether there is one
``formatting``  units on the axes, axis labels, the title and subtitle
``styles``      colour, marker and line style per strategy, per peer and per dtype
``figures``     one module per figure kind, and the panels the first three share
``cli``         the command line: arguments, output files, messages, exit codes

Only ``figures`` imports matplotlib, and ``cli`` imports it once the input
has been read, so that bad input is reported where matplotlib is missing.
"""

PROG = "plot.py"
