"""The Qt user interface: main window, parameter panel, playback bar, theme."""
