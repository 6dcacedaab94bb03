"""BERT Explorer: the Streamlit pages and the analysis they run (plain functions, no Streamlit)."""
