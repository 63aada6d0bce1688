"""`python -m dockyard.kernel -f CONNECTION_FILE`: run the dockyard kernel."""
from ipykernel.kernelapp import IPKernelApp

from .kernel import DockyardKernel

if __name__ == "__main__":
    IPKernelApp.launch_instance(kernel_class=DockyardKernel)
