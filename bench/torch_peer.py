"""What PyTorch peer a benchmark is measuring against, printed by every bench/*.py beside its results.

Debian's python3-torch calls whatever libblas.so.3 the alternatives system selects. Without
libopenblas0-pthread that is the reference BLAS (netlib, unoptimised), whose matrix products are
about 25x slower than OpenBLAS's: a ratio against that peer says nothing about Ember. print_peer()
prints one line, e.g.
  peer torch 1.13.0a0 blas openblas 0.3.21 pthreads SkylakeX (/usr/lib/.../libopenblasp-r0.3.21.so) mkldnn True fair yes
and the bench/run_*.sh scripts print a ratio only after a `fair yes`. The scripts run the peer under
`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`: those variables would pin OpenBLAS to a kernel other
than the one it detects for this CPU.
"""
import os
import re

import torch


def sgemm_library():
    """The file that the process's sgemm_ resolves to (the one torch calls), or None."""
    try:
        import ctypes
        class DlInfo(ctypes.Structure):
            _fields_ = [("fname", ctypes.c_char_p), ("fbase", ctypes.c_void_p),
                        ("sname", ctypes.c_char_p), ("saddr", ctypes.c_void_p)]
        # torch's libraries are loaded RTLD_LOCAL: look sgemm_ up from libtorch_cpu, which searches its
        # dependencies in the order its own calls resolve them.
        torch_cpu = re.search(r"\S*/libtorch_cpu\.so\S*", open("/proc/self/maps").read())
        if not torch_cpu:
            return None
        handle = ctypes.CDLL(torch_cpu.group(0), mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
        addr = ctypes.cast(handle.sgemm_, ctypes.c_void_p)
        info = DlInfo()
        if ctypes.CDLL(None).dladdr(addr, ctypes.byref(info)) and info.fname:
            return os.path.realpath(info.fname.decode())
    except (AttributeError, OSError):
        pass
    return None


def blas_info():
    """(kind, description): kind is openblas, mkl, blis, reference or unknown."""
    # Debian's reference BLAS is <libdir>/blas/libblas.so.3; OpenBLAS's libblas.so.3 sits in
    # <libdir>/openblas-pthread/. Where sgemm_ comes from the reference, threadpoolctl would still
    # report the OpenBLAS that LAPACK loaded.
    lib = sgemm_library()
    if lib and "/blas/libblas.so" in lib:
        return "reference", f"(sgemm_ from {lib})"
    try:
        from threadpoolctl import threadpool_info
        for lib in threadpool_info():
            if lib.get("user_api") == "blas":
                kind = lib.get("internal_api", "unknown")
                desc = " ".join(str(lib[k]) for k in ("version", "threading_layer", "architecture")
                                if lib.get(k)) + f" ({lib.get('filepath')})"
                return kind, desc
    except ImportError:
        pass
    # threadpoolctl does not know the reference BLAS (nor is it always installed): the mapped files.
    maps = open("/proc/self/maps").read()
    for kind, pattern in (("openblas", r"\S*libopenblas\S*\.so\S*"), ("mkl", r"\S*libmkl_rt\S*"),
                          ("blis", r"\S*libblis\S*\.so\S*"), ("reference", r"\S*/libblas\.so\S*")):
        m = re.search(pattern, maps)
        if m:
            return kind, f"({os.path.realpath(m.group(0))})"
    return "unknown", "(no BLAS library mapped)"


def peer_line():
    kind, desc = blas_info()
    fair = kind in ("openblas", "mkl", "blis")
    pinned = [v for v in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if v in os.environ]
    if pinned:
        fair = False
        desc += " with " + ",".join(f"{v}={os.environ[v]}" for v in pinned) + " set"
    return (f"peer torch {torch.__version__} blas {kind} {desc} mkldnn {torch.backends.mkldnn.is_available()} "
            f"fair {'yes' if fair else 'no'}")


def print_peer():
    print(peer_line(), flush=True)


if __name__ == "__main__":
    print_peer()
