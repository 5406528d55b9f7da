"""Mutation testing of an exercise's checks: mutants of its solution that its checks should fail."""
# Why nnlab's own machinery rather than a mutation library's (evaluated: mutmut, cosmic-ray,
# mutatest, and libcst-based rewriting):
# - Their operators are generic Python ones (swap an operator, a constant, a keyword); none knows
#   `dim=`/`keepdim=`, `reduction=`, a dropped transpose or `.detach()`, or in-place against
#   out-of-place tensor updates, the mistakes torch code makes. Adding those means writing the
#   operators anyway; what is left of a library is its tree walk.
# - Each drives its own test runner over a whole test suite (mutmut and mutatest run pytest on
#   a patched tree, cosmic-ray its own session database and distributor). Here a mutant is one
#   student's file graded by nnlab's pipeline (the confined worker, hidden and timing checks),
#   one Dask task per mutant on the engine `nnlab grade` uses: their runners would bypass all of it.
# - Only what a student writes is mutated (BEGIN/END SOLUTION regions, else the functions the
#   stub does not give), which none of them can express.
# - The tree walk is the standard library's: `ast` nodes carry their exact source spans, so an
#   edit replaces only those bytes and the mutant's diff shows exactly the change, as libcst's
#   round-tripping would, without another dependency in the installed package.
