"""Pure figure builders: data (DataFrames, arrays) in, plotly ``go.Figure`` out. No Streamlit here."""
