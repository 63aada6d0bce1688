"""IPython magics and widgets for dockyard: %%dockerfile, %container, %image, %network, %volume."""
