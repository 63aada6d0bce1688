"""Kernels inside containers: the launch code `%dockyard use` and the kernel provisioner share.

launch.py starts a container whose PID 1 (launcher.py) runs ipykernel on unix sockets in a
session directory; channels.py is the client of that kernel; forward.py relays cells and their
output between the dockyard kernel and it; outer.py is the dockyard kernel's switch;
ipykernel_image.py derives an image with ipykernel for one that lacks it.
"""
