// The customer's conversation with the assistant (while waiting and after the call): the turns
// so far, a line to type a question, and the talk button when the server can hear this language.
import { t } from './i18n.js';

export class ConversationPanel {
  /** @param {{ list: HTMLElement, form: HTMLFormElement, input: HTMLInputElement,
   *            quick: HTMLElement }} els
   *  @param {(text: string) => void} ask */
  constructor({ list, form, input, quick }, ask) {
    this.list = list;
    this.input = input;
    this.quick = quick;
    this.ask = ask;
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      ask(text);
      input.value = '';
    });
  }

  /** Questions to tap instead of typing (what people ask most). */
  suggest(texts) {
    this.quick.replaceChildren(...texts.map((text) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.setAttribute('data-testid', 'quick-reply');
      button.textContent = text;
      button.onclick = () => this.ask(text);
      return button;
    }));
    this.quick.hidden = texts.length === 0;
  }

  /** The whole conversation (a page that joins or comes back). */
  show(items) {
    this.list.replaceChildren(...items.map((item) => this.#li(item)));
    this.#scroll();
  }

  add(item) {
    this.list.append(this.#li(item));
    this.#scroll();
  }

  /** Something went wrong with a question: said in the conversation, not in the console. */
  note(text) {
    const li = document.createElement('li');
    li.className = 'note';
    li.setAttribute('role', 'alert');
    li.textContent = text;
    this.list.append(li);
    this.#scroll();
  }

  #li({ role, text, open, spoken }) {
    const li = document.createElement('li');
    li.dataset.testid = 'conversation-item';
    li.setAttribute('data-testid', 'conversation-item');
    li.dataset.role = role;
    if (open) li.dataset.open = 'true';
    if (spoken) li.dataset.spoken = 'true';
    li.textContent = text;
    return li;
  }

  #scroll() {
    this.list.scrollTop = this.list.scrollHeight;
  }
}

export function errorText(msg) {
  const key = `error.${msg.code}`;
  return t(key) !== key ? t(key) : msg.message;
}
