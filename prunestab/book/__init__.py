"""The book's machinery: what turns stored runs into the book's pages.

The pages themselves are the chapter notebooks (``notebooks/``) and the book's own
sources (``book/`` at the repository's root); this package is what they call. One job per
module:

* ``analysis``: from a figure's grid to the quantities its plot shows, through the run
  store (computing only what the store lacks), and the provenance line each figure states;
* ``claims``: each figure's claims decided on its runs, recorded per profile for the
  claims page, and read back;
* ``plots``: matplotlib figures in the paper's layout;
* ``tables``: the pages' HTML tables (claims with their verdicts, small tables of numbers);
* ``explorers``: controls over a figure that work in Jupyter and in the static book alike;
* ``frontpage``: what the front page says the book found;
* ``build``: ``prunestab book``, which executes every notebook at a profile and builds the
  Jupyter Book.

It reads the paper's layer (``prunestab.paper``, through its registry) and the toolkit;
nothing in either imports it.
"""
