// gigcover's card form for localstripe's stand-in for Stripe.js. devstack/localstripe_server.py serves
// this file right after localstripe's own localstripe-v3.js (in the same script), so `Element` and `Stripe`
// below are localstripe's. A page keeps the calls it makes to the real Stripe.js (stripe.elements(),
// elements.create("card"), card.mount(), card.on("change"), stripe.confirmCardSetup()); only the form the
// Element draws changes: labelled fields with a numeric keypad and autofill (cc-number, cc-exp, cc-csc,
// postal-code), an expiry typed as MM / YY, and the messages of the real Stripe.js for what it refuses.

(function () {
  'use strict';

  const MESSAGES = {
    incomplete_number: 'Your card number is incomplete.',
    invalid_number: 'Your card number is invalid.',
    incomplete_expiry: "Your card's expiration date is incomplete.",
    invalid_expiry_month: "Your card's expiration month is invalid.",
    invalid_expiry_month_past: "Your card's expiration date is in the past.",
    invalid_expiry_year: "Your card's expiration year is invalid.",
    invalid_expiry_year_past: "Your card's expiration year is in the past.",
    incomplete_cvc: "Your card's security code is incomplete.",
    incomplete_zip: 'Your postal code is incomplete.',
  };

  // Brand by first digits: [pattern, brand, lengths, CVC length, groups of digits shown].
  const BRANDS = [
    [/^3[47]/, 'amex', [15], 4, [4, 6, 5]],
    [/^(5[1-5]|2(2[2-9]|[3-6]|7[01]|720))/, 'mastercard', [16], 3, [4, 4, 4, 4]],
    [/^(6011|65|64[4-9])/, 'discover', [16, 19], 3, [4, 4, 4, 4, 3]],
    [/^3(0[0-5]|[689])/, 'diners', [14, 16], 3, [4, 6, 4, 2]],
    [/^35/, 'jcb', [16], 3, [4, 4, 4, 4]],
    [/^62/, 'unionpay', [16, 19], 3, [4, 4, 4, 4, 3]],
    [/^4/, 'visa', [16, 13, 19], 3, [4, 4, 4, 4, 3]],
  ];

  function brandOf(digits) {
    for (const [pattern, brand, lengths, cvc, groups] of BRANDS) {
      if (pattern.test(digits)) {
        return {brand, lengths, cvc, groups};
      }
    }
    return {brand: 'unknown', lengths: [16], cvc: 3, groups: [4, 4, 4, 4, 3]};
  }

  function luhn(digits) {
    let sum = 0;
    for (let i = 0; i < digits.length; i++) {
      let d = Number(digits[digits.length - 1 - i]);
      if (i % 2 === 1) {
        d = d * 2 > 9 ? d * 2 - 9 : d * 2;
      }
      sum += d;
    }
    return sum % 10 === 0;
  }

  const onlyDigits = text => text.replace(/\D/g, '');

  // Each field: its raw text -> {digits, text shown, complete, code of what is wrong, whether the code
  // shows while the person is still typing (invalid) or only once they leave the field (incomplete)}.
  function checkNumber(text) {
    const info = brandOf(onlyDigits(text));
    const digits = onlyDigits(text).slice(0, Math.max(...info.lengths));
    let shown = '', at = 0;
    for (const size of info.groups) {
      if (at >= digits.length) break;
      shown += (shown ? ' ' : '') + digits.slice(at, at + size);
      at += size;
    }
    const max = Math.max(...info.lengths), usual = info.lengths[0], brand = info.brand;
    if (info.lengths.includes(digits.length) && luhn(digits)) {
      return {digits, shown, brand, valid: true, complete: digits.length === usual || digits.length === max};
    }
    if (digits.length === max || (digits.length >= usual && info.lengths.includes(digits.length))) {
      return {digits, shown, brand, code: 'invalid_number', early: true};
    }
    return {digits, shown, brand, code: 'incomplete_number', early: false};
  }

  function checkExpiry(text, deleting) {
    let digits = onlyDigits(text).slice(0, 4);
    if (/^[2-9]/.test(digits)) digits = '0' + digits.slice(0, 3);  // "4" is April: 04 / ..
    const month = digits.slice(0, 2), year = digits.slice(2);
    let shown = month;
    if (year || (month.length === 2 && !deleting)) shown += ' / ' + year;
    const result = {digits, shown};
    if (!digits.length) return {...result, code: 'incomplete_expiry', early: false};
    if (month.length === 2 && (Number(month) < 1 || Number(month) > 12)) {
      return {...result, code: 'invalid_expiry_month', early: true};
    }
    if (digits.length < 4) return {...result, code: 'incomplete_expiry', early: false};
    const now = new Date(), fullYear = 2000 + Number(year);
    if (fullYear < now.getFullYear()) return {...result, code: 'invalid_expiry_year_past', early: true};
    if (fullYear === now.getFullYear() && Number(month) < now.getMonth() + 1) {
      return {...result, code: 'invalid_expiry_month_past', early: true};
    }
    if (fullYear > now.getFullYear() + 50) return {...result, code: 'invalid_expiry_year', early: true};
    return {...result, complete: true, valid: true, month: Number(month), year: fullYear};
  }

  function checkCvc(text, brand) {
    const length = brandOf(brand).cvc;
    const digits = onlyDigits(text).slice(0, length);
    if (digits.length < length) return {digits, shown: digits, code: 'incomplete_cvc', early: false};
    return {digits, shown: digits, complete: true, valid: true};
  }

  function checkPostal(text) {
    const shown = text.toUpperCase().replace(/[^0-9A-Z -]/g, '').slice(0, 10);
    if (shown.trim().length < 5) return {digits: shown, shown, code: 'incomplete_zip', early: false};
    return {digits: shown, shown, complete: shown.length >= 5, valid: true};
  }

  const FIELDS = [
    {key: 'number', label: 'Card number', placeholder: '1234 1234 1234 1234', autocomplete: 'cc-number'},
    {key: 'expiry', label: 'Expiration date', placeholder: 'MM / YY', autocomplete: 'cc-exp'},
    {key: 'cvc', label: 'Security code', placeholder: 'CVC', autocomplete: 'cc-csc'},
    {key: 'postal', label: 'ZIP code', placeholder: '12345', autocomplete: 'postal-code'},
  ];

  const STYLE = `
.localstripe-card { display:grid; grid-template-columns:repeat(2, minmax(0, 1fr)); gap:.6rem; align-items:end; }
.localstripe-card .localstripe-number { grid-column:1 / -1; }
@media (min-width: 36rem) {
  .localstripe-card:not(.localstripe-no-postal) { grid-template-columns:repeat(3, minmax(0, 1fr)); }
}
.localstripe-card label.localstripe-field { display:flex; flex-direction:column; gap:.2rem; margin:0;
  font-weight:600; font-size:.85rem; min-width:0; }
.localstripe-card input { width:100%; min-width:0; box-sizing:border-box; font:inherit; font-size:1rem;
  font-weight:400; padding:.6rem .65rem; border:1px solid #c4c9d2; border-radius:6px; background:#fff;
  color:inherit; letter-spacing:.02em; }
.localstripe-card input:focus { outline:2px solid #1f5eff; outline-offset:0; border-color:#1f5eff; }
.localstripe-card input[aria-invalid="true"] { border-color:#b3261e; color:#b3261e; }
.localstripe-card .localstripe-brand { font-weight:400; color:#5b6475; }
`;

  function addStyle() {
    if (document.getElementById('localstripe-card-style')) return;
    const style = document.createElement('style');
    style.id = 'localstripe-card-style';
    style.textContent = STYLE;
    document.head.appendChild(style);
  }

  const BRAND_NAMES = {
    amex: 'American Express', mastercard: 'Mastercard', discover: 'Discover', diners: 'Diners Club',
    jcb: 'JCB', unionpay: 'UnionPay', visa: 'Visa',
  };

  // The Element localstripe creates for elements().create("card"), drawing our form.
  Element.prototype.mount = function (domElement) {
    if (typeof domElement === 'string') {
      domElement = document.querySelector(domElement);
    }
    if (!(domElement instanceof window.Element)) {
      throw new Error('Invalid DOM element. Make sure to call mount() with a valid DOM element or selector.');
    }
    if (this._stripeElements._cardElement !== this) {
      throw new Error('This Element has already been destroyed. Please create a new one.');
    }
    if (this._domChildren.length) {
      if (domElement === this._domChildren[0].parentElement) return;
      throw new Error('This Element is already mounted. Use `unmount()` to unmount the Element before re-mounting.');
    }
    addStyle();
    const options = this._options || {};
    const box = document.createElement('div');
    box.className = 'localstripe-card' + (options.hidePostalCode ? ' localstripe-no-postal' : '');
    box.setAttribute('role', 'group');
    box.setAttribute('aria-label', 'Card details');
    this._inputs = {};
    this._left = {};  // fields the person has left at least once: their incomplete errors show
    for (const field of FIELDS) {
      if (field.key === 'postal' && options.hidePostalCode) continue;
      const label = document.createElement('label');
      label.className = 'localstripe-field localstripe-' + field.key;
      const name = document.createElement('span');
      name.textContent = field.label;
      label.appendChild(name);
      if (field.key === 'number') {
        this._brandLabel = document.createElement('span');
        this._brandLabel.className = 'localstripe-brand';
        this._brandLabel.setAttribute('aria-hidden', 'true');  // shown, not part of the field's name
        name.appendChild(this._brandLabel);
      }
      const input = document.createElement('input');
      // No name: like Stripe's iframe, the fields are never posted with the page's own form.
      input.type = 'text';
      input.inputMode = 'numeric';
      input.autocomplete = field.autocomplete;
      input.placeholder = field.placeholder;
      input.spellcheck = false;
      input.setAttribute('autocorrect', 'off');
      input.setAttribute('aria-invalid', 'false');
      input.addEventListener('input', event => this._changed(field.key, event));
      input.addEventListener('focus', () => this._emit('focus', {elementType: 'card'}));
      input.addEventListener('blur', () => {
        if (input.value) this._left[field.key] = true;
        this._changed(null);
        this._emit('blur', {elementType: 'card'});
      });
      label.appendChild(input);
      box.appendChild(label);
      this._inputs[field.key] = input;
    }
    this._domChildren.push(box);
    domElement.appendChild(box);
    this._changed(null);
    setTimeout(() => this._emit('ready', {elementType: 'card'}), 0);
  };

  Element.prototype._emit = function (type, event) {
    (this.listeners[type] || []).forEach(handler => handler(event));
  };

  Element.prototype._state = function (deleting) {
    const inputs = this._inputs;
    const number = checkNumber(inputs.number.value);
    const state = {
      number,
      expiry: checkExpiry(inputs.expiry.value, deleting === 'expiry'),
      cvc: checkCvc(inputs.cvc.value, number.digits),
    };
    if (inputs.postal) state.postal = checkPostal(inputs.postal.value);
    return state;
  };

  // The first thing wrong, as Stripe.js reports it: invalid fields at once, incomplete ones once left (or
  // all of them when ``all``, as on confirmCardSetup).
  Element.prototype._problem = function (all) {
    const state = this._state();
    for (const key of Object.keys(state)) {
      const field = state[key];
      const input = this._inputs[key];
      const shows = field.code && (all || field.early || this._left[key]);
      input.setAttribute('aria-invalid', shows ? 'true' : 'false');
    }
    for (const key of Object.keys(state)) {
      const field = state[key];
      if (field.code && (all || field.early || this._left[key])) {
        return {key, error: {type: 'validation_error', code: field.code, message: MESSAGES[field.code]}};
      }
    }
    return null;
  };

  Element.prototype._changed = function (key, event) {
    const deleting = event && event.inputType && event.inputType.startsWith('delete');
    const state = this._state(deleting ? key : null);
    if (key) {
      const input = this._inputs[key];
      const atEnd = input.selectionStart === input.value.length;
      if (input.value !== state[key].shown) {
        const digitsBefore = onlyDigits(input.value.slice(0, input.selectionStart)).length;
        input.value = state[key].shown;
        if (!atEnd) {  // keep the caret after the same digit
          let at = 0, seen = 0;
          while (at < input.value.length && seen < digitsBefore) {
            if (/\d/.test(input.value[at])) seen++;
            at++;
          }
          input.setSelectionRange(at, at);
        }
      }
      // On to the next field once this one is complete, as Stripe's card Element does.
      const order = Object.keys(this._inputs);
      const next = this._inputs[order[order.indexOf(key) + 1]];
      if (!deleting && atEnd && state[key].complete && state[key].valid && next) next.focus();
    }
    const brand = state.number.brand;
    if (this._brandLabel) this._brandLabel.textContent = BRAND_NAMES[brand] ? ' · ' + BRAND_NAMES[brand] : '';
    this.value = {
      card: {
        number: state.number.digits,
        exp_month: state.expiry.digits.slice(0, 2),
        exp_year: state.expiry.digits.length === 4 ? '20' + state.expiry.digits.slice(2) : '',
        cvc: state.cvc.digits,
      },
      postal_code: state.postal ? state.postal.shown.trim() : '',
    };
    const problem = this._problem(false);
    const empty = Object.values(this._inputs).every(input => !input.value);
    const complete = Object.values(state).every(field => field.valid);
    this._emit('change', {
      elementType: 'card',
      empty,
      complete,
      brand,
      error: problem ? problem.error : undefined,
      value: {postalCode: this.value.postal_code},
    });
  };

  Element.prototype.focus = function () {
    if (this._inputs) this._inputs.number.focus();
  };

  Element.prototype.blur = function () {
    if (this._inputs) Object.values(this._inputs).forEach(input => input.blur());
  };

  Element.prototype.clear = function () {
    if (!this._inputs) return;
    Object.values(this._inputs).forEach(input => { input.value = ''; });
    this._left = {};
    this._changed(null);
  };

  Element.prototype.update = function (options) {
    this._options = {...(this._options || {}), ...options};
  };

  const AUTHENTICATION_FAILED =
    'We are unable to authenticate your payment method. Please choose a different payment method and try again.';

  // The bank's challenge (3-D Secure), as Stripe.js shows it: a modal dialog over the page, named for what
  // it asks, in which the person completes or fails the test authentication. Replaces localstripe's
  // unlabelled box; localstripe's confirmCardSetup and confirmCardPayment call it.
  openModal = function (text, confirmText, cancelText) {
    return new Promise(resolve => {
      const dialog = document.createElement('dialog');
      dialog.setAttribute('aria-labelledby', 'localstripe-3ds-title');
      dialog.setAttribute('aria-describedby', 'localstripe-3ds-text');
      Object.assign(dialog.style, {maxWidth: '24rem', padding: '1.2rem 1.4rem', border: '1px solid #c4c9d2',
                                   borderRadius: '8px', fontFamily: 'inherit', textAlign: 'left'});
      const title = document.createElement('h2');
      title.id = 'localstripe-3ds-title';
      title.textContent = 'Confirm with your bank';
      title.style.fontSize = '1.15rem';
      const body = document.createElement('p');
      body.id = 'localstripe-3ds-text';
      body.textContent = 'Your bank asks you to confirm that it is you (3-D Secure). This is a test page: ' +
                         'choose what your bank would answer.';
      const actions = document.createElement('p');
      actions.style.display = 'flex';
      actions.style.gap = '.6rem';
      const complete = document.createElement('button'), fail = document.createElement('button');
      complete.type = fail.type = 'button';
      complete.textContent = confirmText;
      fail.textContent = cancelText;
      actions.append(complete, fail);
      dialog.append(title, body, actions);
      document.body.appendChild(dialog);
      const finish = answer => { dialog.close(); dialog.remove(); resolve(answer); };
      complete.addEventListener('click', () => finish(true));
      fail.addEventListener('click', () => finish(false));
      dialog.addEventListener('cancel', event => { event.preventDefault(); finish(false); });
      dialog.showModal();
      complete.focus();
    });
  };

  // Stripe(...) as localstripe makes it, with the card checked as Stripe.js checks it before anything is
  // sent, and card errors answered the way Stripe.js answers them.
  const localstripeStripe = Stripe;
  Stripe = function (apiKey, options) {
    const stripe = localstripeStripe(apiKey, options);

    const elements = stripe.elements;
    stripe.elements = function (elementsOptions) {
      const group = elements(elementsOptions);
      const create = group.create;
      group.create = function (type, createOptions) {
        const element = create.call(this, type, createOptions);
        element._options = createOptions || {};
        return element;
      };
      return group;
    };

    const confirmCardSetup = stripe.confirmCardSetup;
    stripe.confirmCardSetup = async function (clientSecret, data) {
      const card = data && data.payment_method && data.payment_method.card;
      if (card instanceof Element && card._inputs) {
        const problem = card._problem(true);
        if (problem) {
          card._inputs[problem.key].focus();
          return {error: problem.error};
        }
      }
      const result = await confirmCardSetup(clientSecret, data);
      if (result && result.error && /authentication failed/.test(result.error.message || '')) {
        result.error = {type: 'invalid_request_error', code: 'setup_intent_authentication_failure',
                        message: AUTHENTICATION_FAILED};
      }
      if (result && result.error && !result.error.message) {
        result.error = {type: 'api_error', message: 'Your card could not be saved. Please try again.'};
      }
      return result;
    };

    // A PaymentIntent that waits for its customer's authentication (requires_action, confirmed by the
    // server): the challenge, then Stripe.js's answer. localstripe answers a failed challenge as if it
    // were a payment; Stripe.js answers it with an error.
    const confirmCardPayment = stripe.confirmCardPayment;
    stripe.confirmCardPayment = async function (clientSecret, data) {
      const result = await confirmCardPayment(clientSecret, data);
      const intent = result && result.paymentIntent;
      if (intent && !['succeeded', 'requires_capture', 'processing'].includes(intent.status)) {
        return {error: {type: 'invalid_request_error', code: 'payment_intent_authentication_failure',
                        message: AUTHENTICATION_FAILED, payment_intent: intent}};
      }
      if (result && result.error && !result.error.message) {
        result.error = {type: 'api_error', message: 'Your payment could not be confirmed. Please try again.'};
      }
      return result;
    };
    stripe.handleCardAction = stripe.confirmCardPayment;
    return stripe;
  };
})();
