"""A widget's output that still reads right without widgets: static HTML and a short text.

A notebook saved without widget state (JupyterLab's default), exported with nbconvert or shown
on GitHub has no live widgets; what it shows is the output's `text/html`, else its
`text/plain`. So every dockyard widget puts both into the very output that holds the widget,
and `publish()` replaces them when the widget reaches a new state:

    view.show()        # display(view) with a display id
    ...                # the build finishes, the container stops
    view.publish()     # the same output now carries the final state's HTML and text
"""
from IPython.display import display


class StaticSnapshot:
    """Mixin for an ipywidgets widget: `static_html()` and `summary()` travel with the widget."""

    _display = None

    def static_html(self) -> str:
        """The widget's current state as plain HTML (no scripts, inline styles only)."""
        raise NotImplementedError

    def summary(self) -> str:
        """One short line of text for the current state, e.g. 'Built hello:1 (3/3 steps)'."""
        raise NotImplementedError

    def _repr_mimebundle_(self, **kwargs):
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is not None:
            bundle["text/plain"] = self.summary()
            bundle["text/html"] = self.static_html()
        return bundle

    def show(self) -> None:
        """Display the widget with a display id, so that publish() can update this output."""
        self._display = display(self, display_id=True)

    def publish(self) -> None:
        """Replace the shown output's static HTML and text with the current state's.

        The front end redraws the widget view too, so call it when the state changes, not on
        every tick. A closed widget has nothing left to publish.
        """
        if self._display is not None and getattr(self, "comm", None) is not None:
            self._display.update(self)
