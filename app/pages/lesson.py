"""Lesson mode: pick a lesson (the course that ships with the app, a teacher's file), start it, present it,
print its handout. The steps themselves open on their pages, with a lesson panel (app/lesson_mode.py)."""
import streamlit as st

from app import handout, inputs, lesson_mode, lessons, services
from app.lessons import LessonError

st.title("Lesson mode")
st.markdown(
    "A lesson walks through the app step by step: each step opens a page with the example, layer, head "
    "and word it names, beside two to five sentences for the students and what to look at. Move with "
    "**Previous**/**Next** or the **← →** keys; the address bar is the step's link. Students can explore "
    "the page freely; **Leave the lesson** keeps the page as it is.")

uploaded = st.file_uploader("Your own lesson (.toml): copy the course below, edit it, upload it", type=["toml"],
                            key="lesson_upload",
                            help=f"Or put lesson files in the folder named by {lesson_mode.LESSONS_FOLDER_ENV} "
                                 "when the server starts. README: Lesson mode.")
if uploaded is not None:
    read = lesson_mode.upload_lesson(uploaded)
    if read is not None:
        st.session_state["lesson_choice"] = read[0]

names = [*lesson_mode.lesson_files(), *st.session_state.get(lesson_mode.UPLOADED, {})]
names = list(dict.fromkeys(names))  # an upload named like a file replaces it for this browser
if st.session_state.get("lesson_choice") not in names:
    st.session_state["lesson_choice"] = lessons.DEFAULT_LESSON if lessons.DEFAULT_LESSON in names else names[0]
name = st.selectbox("Lesson", names, key="lesson_choice")
try:
    lesson = lesson_mode.find_lesson(name)
except LessonError as err:
    st.error(f"The lesson file {inputs.inline_code(name)} cannot be used:\n\n{lesson_mode.problems_markdown(err)}")
    st.stop()

st.header(inputs.escape_markdown(lesson.title), anchor=False)
if lesson.description:
    st.markdown(inputs.escape_markdown(lesson.description))
at = st.session_state.get(lesson_mode.AT)
with st.container(horizontal=True):
    st.button("Start the lesson", type="primary", icon=":material/play_arrow:", key="lesson_start",
              on_click=lesson_mode.go_to, args=(name, 1))
    if at and at[0] == name:
        st.button(f"Back to step {at[1]}", icon=":material/replay:", key="lesson_resume", on_click=lesson_mode.go_to,
                  args=at)
    st.toggle("Presentation view", key="lesson_presenting",
              help="For a projector: no sidebar, larger type, the explanation beside the figure")
if st.session_state["lesson_presenting"]:
    st.query_params[lesson_mode.PRESENT] = "true"
else:
    st.query_params.pop(lesson_mode.PRESENT, None)

st.subheader("Steps", anchor=False)
titles = {key: spec.title for key, spec in lessons.PAGES.items()}
for number, step in enumerate(lesson.steps, start=1):
    sentences = " / ".join(str(step.state[k]) for k in ("a", "b") if step.state.get(k))
    st.page_link("app/pages/lesson.py", label=f"{number}. {inputs.escape_markdown(step.title)} · {titles[step.page]}",
                 query_params={"lesson": name, "step": str(number)}, help=inputs.escape_markdown(sentences) or None)
st.caption("Each step's link opens it in any browser (this page's address with ?lesson=…&step=…).")

left, right = st.columns(2)
left.download_button("The lesson file (TOML), to copy and edit", lessons.dump_lesson(lesson),
                     file_name=f"{name}.toml", mime="application/toml", on_click="ignore", icon=":material/download:")
selection = st.session_state["selection"]


def handout_html() -> str:  # built when the button is pressed: runs the model for every step
    model_name = selection.model_name if selection.model_name == lesson.model else lesson.model
    return handout.build_handout(lesson, *services.get_model(model_name), model_name=model_name)


right.download_button("Handout to print (HTML, every step with its figure)", handout_html,
                      file_name=f"{name}_handout.html", mime="text/html", on_click="ignore",
                      icon=":material/print:")
