"""Two environments compared from their layers: `dockyard diff IMAGE1 IMAGE2`, `%image diff`.

    compare.py    diff_images(a, b): layers, config, files, Debian and Python packages;
                  layer_contents(image, i): what one layer adds, changes, removes
    files.py      the paths the non-shared layers touch, and how each differs
    packages.py   dpkg's status file and *.dist-info directories
"""
