// The CBLAS interface of Debian's OpenBLAS (libopenblas-dev), plus its
// introspection calls (openblas_get_corename, openblas_get_config,
// openblas_set_num_threads), which cblas.h declares.
#include <cblas.h>
